import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import { Logger, memorySink } from "@monkey/shared";
import {
  assertClusterStops,
  dial,
  openEchoed,
  readExactly,
  requires,
  scrapeMetrics,
  testEachEngine,
  writeAll,
} from "@monkey/testing";
import { mergeBackendLists, startLbCluster } from "./cluster.ts";

const NEEDS = requires("read");

testEachEngine(
  "startLbCluster() runs 2 workers on one port; metrics add up, admin changes reach every worker",
  async ({ engine }) => {
    const a = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", engine });
    const b = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", engine });
    const { sink } = memorySink();
    const cluster = await startLbCluster({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      workers: 2,
      engine,
      admin_token: "t0ken",
      health_check: { interval_ms: 0 },
      backends: [{ addr: a.addr }, { addr: b.addr }],
    }, { logger: new Logger({ sink }) });
    const conns = await openEchoed(cluster.addr, 12, 10);
    const json = await cluster.snapshot();
    assert.equal(json["active_connections"], 12);
    assert.equal(json["workers"], 2);
    assert.equal(json["engine"], engine, "every worker runs the chosen engine");
    const backends = json["backends"] as {
      addr: string;
      active_connections: number;
      weight: number;
    }[];
    assert.equal(backends.reduce((sum, x) => sum + x.active_connections, 0), 12);
    const samples = await scrapeMetrics(cluster.app);
    assert.equal(samples.get("monkey_lb_connections_total"), 12);
    assert.equal(
      samples.get(`monkey_lb_backend_up{backend="${a.addr}"}`),
      1,
      "a state gauge is not summed",
    );

    const auth = { authorization: "Bearer t0ken", "content-type": "application/json" };
    const patched = await cluster.app.request(`/backends/${a.addr}`, {
      method: "PATCH",
      headers: auth,
      body: JSON.stringify({ weight: 5 }),
    });
    assert.equal(patched.status, 200);
    const listed = await (await cluster.app.request("/backends")).json() as {
      addr: string;
      weight: number;
    }[];
    assert.equal(listed.find((x) => x.addr === a.addr)?.weight, 5);
    const perWorker = await scrapeMetrics(cluster.app);
    assert.equal(
      perWorker.get(`monkey_lb_backend_weight{backend="${a.addr}"}`),
      5,
      "every worker applied it",
    );
    assert.equal(
      (await cluster.app.request(`/backends/${a.addr}`, { method: "PATCH", body: "{}" })).status,
      401,
    );

    await assertClusterStops(cluster, conns, 12);
    await a.shutdown(1000);
    await b.shutdown(1000);
  },
  NEEDS,
);

Deno.test("mergeBackendLists() sums traffic per backend and keeps the first worker's settings", () => {
  const row = (active: number, weight: number) => ({
    addr: "127.0.0.1:1",
    source: "static" as const,
    weight,
    backup: false,
    max_connections: 0,
    state: "up" as const,
    healthy: true,
    removing: false,
    active_connections: active,
    total_connections: active,
    bytes_in: 10,
    bytes_out: 20,
    connect_errors: 0,
    retries: 0,
    health_check_failures: 0,
    connect_latency_ms: null,
    first_byte_ms: null,
    last_check: null,
  });
  const [merged] = mergeBackendLists([[row(2, 3)], [row(5, 3)]]);
  assert.equal(merged!.active_connections, 7);
  assert.equal(merged!.bytes_out, 40);
  assert.equal(merged!.weight, 3);
});

Deno.test(
  "startLbCluster() answers 413 to a chunked admin body over 64 KiB without reading it whole",
  NEEDS,
  async () => {
    const { sink } = memorySink();
    const cluster = await startLbCluster({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "127.0.0.1:0",
      workers: 2,
      admin_token: "t0ken",
      health_check: { interval_ms: 0 },
      backends: [{ addr: "127.0.0.1:1" }],
    }, { logger: new Logger({ sink }) });
    try {
      // Over a socket: chunks past the limit and no final chunk. Reading the body whole would
      // wait for the end forever; the limit answers as soon as it is passed.
      const conn = await dial(cluster.metricsAddr!);
      try {
        const chunk = `${(16 * 1024).toString(16)}\r\n${" ".repeat(16 * 1024)}\r\n`;
        await writeAll(
          conn,
          new TextEncoder().encode(
            "POST /backends HTTP/1.1\r\nhost: lb\r\nauthorization: Bearer t0ken\r\n" +
              `transfer-encoding: chunked\r\n\r\n${chunk.repeat(8)}`,
          ),
        );
        const deadline = AbortSignal.timeout(5000);
        const answered = await Promise.race([
          readExactly(conn, "HTTP/1.1 413".length),
          new Promise<null>((resolve) => deadline.addEventListener("abort", () => resolve(null))),
        ]);
        assert.ok(answered !== null, "no answer within 5 s while the body was still open");
        assert.equal(new TextDecoder().decode(answered), "HTTP/1.1 413");
      } finally {
        conn.close();
      }

      // In process: the stream is pulled only up to the limit.
      const CHUNK = 16 * 1024;
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= 8 * 1024 * 1024) return controller.close();
          pulled += CHUNK;
          controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
        },
      });
      const res = await cluster.app.request("/backends", {
        method: "POST",
        headers: { authorization: "Bearer t0ken" },
        body,
      });
      assert.equal(res.status, 413);
      assert.match((await res.json()).error, /request body over 65536 bytes/);
      assert.ok(pulled <= 64 * 1024 + 2 * CHUNK, `read ${pulled} bytes of the body`);
    } finally {
      await cluster.shutdown(0);
    }
  },
);
