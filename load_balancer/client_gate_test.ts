import assert from "node:assert/strict";
import { encodeProxyV1, Logger, memorySink } from "@monkey/shared";
import {
  assertClosedWithoutData,
  dial,
  readLine,
  scrapeMetrics,
  startPeer,
  type TestPeer,
  writeAll,
} from "@monkey/testing";
import { startLoadBalancer } from "./balancer.ts";
import { lbConfigFromFlags } from "./_testing.ts";
import { loadLbConfig } from "./config.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A backend that reads our PROXY v1 line and the client's first line, and answers `tag|both`. */
function headerTagged(tag: string): TestPeer {
  return startPeer(async (conn) => {
    const header = (await readLine(conn))?.trimEnd();
    const first = (await readLine(conn))?.trimEnd();
    await writeAll(conn, enc(`${tag}|${header}|${first}\n`)).catch(() => {});
    conn.close();
  });
}

Deno.test("LB: the PROXY header's client drives consistent hashing and the header sent to backends", async () => {
  const backends = [headerTagged("a"), headerTagged("b"), headerTagged("c")];
  const { sink } = memorySink();
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    strategy: "consistent_hash",
    accept_proxy: "v1",
    trusted_proxies: ["127.0.0.0/8"],
    proxy_protocol: "v1",
    health_check: { interval_ms: 0 },
    backends: backends.map((b) => ({ addr: b.addr })),
  }, { logger: new Logger({ sink, level: "info" }) });
  const ask = async (clientIp: string) => {
    const conn = await dial(lb.addr);
    const header = encodeProxyV1({ hostname: clientIp, port: 1234 }, {
      hostname: "198.51.100.1",
      port: 443,
    });
    // Header and first line in one write: the line must reach the backend after our header.
    await writeAll(conn, new Uint8Array([...header, ...enc("hello\n")]));
    const reply = await readLine(conn);
    conn.close();
    return reply!.trimEnd().split("|");
  };
  try {
    const [tag, header, first] = await ask("192.0.2.7");
    assert.equal(header, "PROXY TCP4 192.0.2.7 198.51.100.1 1234 443");
    assert.equal(first, "hello");
    // Every connection of one real client lands on one backend, whatever the proxy's port.
    for (let i = 0; i < 5; i++) assert.equal((await ask("192.0.2.7"))[0], tag);
    // Different real clients spread over the backends.
    const tags = new Set<string>();
    for (let i = 1; i <= 40; i++) tags.add((await ask(`203.0.113.${i}`))[0]!);
    assert.ok(tags.size >= 2, `40 clients all on ${[...tags]}`);
  } finally {
    await lb.shutdown(0);
    await Promise.all(backends.map((b) => b.close()));
  }
});

Deno.test("LB: max_connections_per_client closes the client over it at once and counts it", async () => {
  const held = startPeer(async (conn) => {
    const buf = new Uint8Array(64);
    while ((await conn.read(buf).catch(() => null)) !== null) { /* hold until EOF */ }
    conn.close();
  });
  const { sink } = memorySink();
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    max_connections_per_client: 2,
    health_check: { interval_ms: 0 },
    backends: [{ addr: held.addr }],
  }, { logger: new Logger({ sink, level: "info" }) });
  try {
    const open = [await dial(lb.addr), await dial(lb.addr)];
    await assertClosedWithoutData(lb.addr);
    const metrics = await scrapeMetrics(lb.app);
    assert.equal(metrics.get("monkey_lb_rate_limited_connections_total"), 1);
    assert.equal(lb.snapshot().backends[0]!.total_connections, 2, "no backend connect for it");
    for (const conn of open) conn.close();
  } finally {
    await lb.shutdown(0);
    await held.close();
  }
});

Deno.test("LB: the receive and limit keys come from flags, bad values rejected in one line", () => {
  const config = lbConfigFromFlags(
    "--accept-proxy v2 --trusted-proxy 10.0.0.0/8 --trusted-proxy ::1 --max-conn-rate-per-client 50 " +
      "--discovery dns+srv://_echo._tcp.service.consul --resolver 127.0.0.1:8600",
  );
  assert.equal(config.accept_proxy, "v2");
  assert.deepEqual(config.trusted_proxies, ["10.0.0.0/8", "::1"]);
  assert.equal(config.max_conn_rate_per_client, 50);
  assert.equal(config.proxy_fallback, "reject");
  assert.equal(config.handshake_timeout_ms, 3000);
  assert.equal(config.discovery, "dns+srv://_echo._tcp.service.consul");
  assert.throws(
    () => loadLbConfig(["--accept-proxy", "v3"]),
    /--accept-proxy: expected one of .*got 'v3'/,
  );
  assert.throws(
    () => loadLbConfig(["--trusted-proxy", "10.0.0.0/33"]),
    /trusted-proxy.*10\.0\.0\.0\/33/,
  );
});
