import assert from "node:assert/strict";
import {
  assertDrains,
  assertEchoes,
  assertSamples,
  closedPortAddr,
  dial,
  dialEchoed,
  type EngineName,
  metricsJson,
  randomBytes,
  readAll,
  readExactly,
  readOutcome,
  scrapeMetrics,
  sha256,
  startBlackHole,
  startPeer,
  testEachEngine,
  writeAll,
} from "@monkey/testing";
import type { ProxyConfig } from "./config.ts";
import { startTestEcho, startTestProxy, type TestProxy } from "./_testing.ts";

const MiB = 1024 * 1024;

/**
 * A test on each engine of a proxy (`config` over the test defaults) in front of an echo server
 * on the same engine and address family.
 */
function testEchoProxy(
  name: string,
  config: Partial<ProxyConfig>,
  fn: (proxy: TestProxy, engine: EngineName) => Promise<void>,
) {
  testEachEngine(name, async ({ engine }) => {
    await using echo = startTestEcho(engine, config.listen_addr);
    await using proxy = startTestProxy({ target_addr: echo.addr, engine, ...config });
    await fn(proxy, engine);
  });
}

for (const relay of ["loop", "streams"] as const) {
  // The relay key picks the deno engine's relay; the epoll engine has one data path (the
  // streams case runs it a second time, a cheap check that the key is ignored there).
  testEchoProxy(
    `proxy (relay=${relay}) carries 8 MiB each way byte-exact through an echo server`,
    { relay },
    async (proxy) => {
      const conn = await dial(proxy.addr);
      const payload = randomBytes(8 * MiB);
      const [back] = await Promise.all([
        readAll(conn),
        writeAll(conn, payload).then(() => conn.closeWrite()),
      ]);
      assert.equal(back.length, payload.length);
      assert.equal(await sha256(back), await sha256(payload));
      conn.close();
      const summary = await proxy.shutdown(1000);
      assert.equal(summary.bytes_upstream, 8 * MiB);
      assert.equal(summary.bytes_downstream, 8 * MiB);
    },
  );
}

testEchoProxy(
  "proxy reports exact metrics after known traffic, in JSON and in Prometheus text",
  {},
  async (proxy, engine) => {
    for (const size of [1000, 24]) {
      const conn = await dial(proxy.addr);
      await writeAll(conn, new Uint8Array(size));
      await readExactly(conn, size);
      await conn.closeWrite();
      assert.equal(await readOutcome(conn), "eof");
      conn.close();
    }
    const held = await dialEchoed(proxy.addr, 5);

    const json = await metricsJson(proxy.app);
    assert.equal(json.active_connections, 1);
    assert.equal(json.total_connections, 3);
    assert.equal(json.bytes_upstream, 1029);
    assert.equal(json.bytes_downstream, 1029);
    assert.equal(json.connect_errors, 0);
    assert.equal(json.relay, "loop");
    assert.equal(json.engine, engine);
    assert.equal(json.draining, false);

    const samples = await scrapeMetrics(proxy.app);
    assertSamples(samples, {
      "monkey_proxy_connections_active": 1,
      "monkey_proxy_connections_total": 3,
      "monkey_proxy_upstream_bytes_total": 1029,
      "monkey_proxy_downstream_bytes_total": 1029,
      "monkey_proxy_connection_duration_seconds_count": 2,
    });

    const clients = await (await proxy.app.request("/clients")).json();
    assert.deepEqual(clients, [{
      ip: "127.0.0.1",
      active_connections: 1,
      total_connections: 3,
      bytes_upstream: 1029,
      bytes_downstream: 1029,
    }]);
    assert.match(
      proxy.summaryLine(),
      /^\[METRICS\] active: 1 \| total: 3 \| up: 1\.0KB \| down: 1\.0KB$/,
    );
    held.close();
  },
);

testEachEngine(
  "proxy closes the client at once when the target refuses, counts it, logs once, keeps serving",
  async ({ engine }) => {
    const deadAddr = closedPortAddr();
    await using proxy = startTestProxy({ target_addr: deadAddr, engine });
    for (let i = 0; i < 3; i++) {
      const conn = await dial(proxy.addr);
      assert.notEqual(await readOutcome(conn), "data");
      conn.close();
    }
    const snap = proxy.snapshot();
    assert.equal(snap.connect_errors, 3);
    assert.equal(snap.active_connections, 0);
    const warnings = proxy.lines.filter((l) => l.includes("connection refused"));
    assert.equal(warnings.length, 1, "repeated failures are folded into one line");
    assert.match(
      warnings[0]!,
      new RegExp(`WARN  proxy: cannot connect to ${deadAddr}: connection refused`),
    );
  },
);

testEachEngine(
  "proxy gives up on a target that never accepts after connect_timeout_ms",
  async ({ engine }) => {
    using hole = await startBlackHole();
    await using proxy = startTestProxy({ target_addr: hole.addr, engine, connect_timeout_ms: 100 });
    const conn = await dial(proxy.addr);
    const started = performance.now();
    assert.notEqual(await readOutcome(conn), "data");
    const took = performance.now() - started;
    assert.ok(took >= 80 && took < 3000, `client closed after ${took} ms`);
    assert.equal(proxy.snapshot().connect_timeouts, 1);
    assert.equal(proxy.snapshot().connect_errors, 1);
    conn.close();
  },
);

testEachEngine(
  "proxy ends the client promptly when the target resets mid-stream",
  async ({ engine }) => {
    await using resetter = startPeer(async (conn) => {
      await readExactly(conn, 1); // take one byte, leave the rest unread, then close: RST
      conn.close();
    });
    await using proxy = startTestProxy({ target_addr: resetter.addr, engine });
    const conn = await dial(proxy.addr);
    await writeAll(conn, randomBytes(64 * 1024));
    assert.notEqual(await readOutcome(conn), "data");
    conn.close();
    const summary = await proxy.shutdown(1000);
    assert.equal(summary.forced, 0, "nothing was left hanging");
    assert.equal(proxy.snapshot().relay_errors, 1);
  },
);

testEchoProxy(
  "proxy closes connections idle for idle_timeout_secs and counts them",
  { idle_timeout_secs: 0.1 },
  async (proxy) => {
    const conn = await dial(proxy.addr);
    await writeAll(conn, new Uint8Array(3));
    await readExactly(conn, 3);
    assert.notEqual(await readOutcome(conn), "data");
    conn.close();
    await proxy.shutdown(1000);
    assert.equal(proxy.snapshot().idle_timeouts, 1);
  },
);

testEchoProxy(
  "proxy closes clients over max_connections at once and counts them",
  { max_connections: 1 },
  async (proxy) => {
    const first = await dialEchoed(proxy.addr); // established end to end
    const second = await dial(proxy.addr);
    assert.equal(await readOutcome(second), "eof");
    assert.equal(proxy.snapshot().rejected_connections, 1);
    await assertEchoes(first, 1, "the first connection is unaffected");
    first.close();
    second.close();
  },
);

testEchoProxy(
  "proxy drains on shutdown: 503 on /health, live connection served, then closed after the grace period",
  {},
  async (proxy) => {
    await assertDrains(proxy, 200, () => assert.equal(proxy.snapshot().draining, true));
  },
);

testEchoProxy(
  "proxy shutdown returns early when the last live connection finishes",
  {},
  async (proxy) => {
    const conn = await dialEchoed(proxy.addr);
    const done = proxy.shutdown(30_000);
    await conn.closeWrite();
    assert.equal(await readOutcome(conn), "eof");
    conn.close();
    assert.equal((await done).forced, 0);
  },
);

testEachEngine("proxy logs each connection only at debug level", async ({ engine }) => {
  await using echo = startTestEcho(engine);
  await using proxy = startTestProxy({ target_addr: echo.addr, engine }, "info");
  const conn = await dial(proxy.addr);
  await writeAll(conn, new Uint8Array(10));
  await readExactly(conn, 10);
  conn.close();
  await proxy.shutdown(1000);
  await echo.shutdown(1000);
  assert.deepEqual(proxy.lines, []);
});

for (
  const [mode, expected] of [
    [
      "v1",
      (client: Deno.NetAddr, local: Deno.NetAddr) =>
        `PROXY TCP4 127.0.0.1 127.0.0.1 ${client.port} ${local.port}\r\n`,
    ],
    ["v2", null],
  ] as const
) {
  testEachEngine(
    `proxy with proxy_protocol=${mode} sends the header before the client's first byte`,
    async ({ engine }) => {
      const received = Promise.withResolvers<Uint8Array>();
      await using target = startPeer(async (conn) => {
        received.resolve(await readAll(conn));
        conn.close(); // the relay ends now, not at the shutdown deadline
      });
      await using proxy = startTestProxy({
        target_addr: target.addr,
        engine,
        proxy_protocol: mode,
      });
      const conn = await dial(proxy.addr);
      await writeAll(conn, new TextEncoder().encode("payload"));
      await conn.closeWrite();
      const bytes = await received.promise;
      const local = conn.remoteAddr as Deno.NetAddr;
      const me = conn.localAddr as Deno.NetAddr;
      if (expected) {
        assert.equal(new TextDecoder().decode(bytes), expected(me, local) + "payload");
      } else {
        const sig = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
        assert.deepEqual([...bytes.subarray(0, 12)], sig);
        assert.equal(bytes[12], 0x21); // version 2, PROXY command
        assert.equal(bytes[13], 0x11); // TCP over IPv4
        const view = new DataView(bytes.buffer, bytes.byteOffset);
        assert.equal(view.getUint16(14), 12);
        assert.deepEqual([...bytes.subarray(16, 24)], [127, 0, 0, 1, 127, 0, 0, 1]);
        assert.equal(view.getUint16(24), me.port);
        assert.equal(view.getUint16(26), local.port);
        assert.equal(new TextDecoder().decode(bytes.subarray(28)), "payload");
      }
      conn.close();
    },
  );
}

testEachEngine(
  "proxy refuses clients outside allow or inside deny before connecting upstream, and counts them",
  async ({ engine }) => {
    let upstreamConnects = 0;
    await using target = startPeer(async (conn) => {
      upstreamConnects++;
      await writeAll(conn, await readExactly(conn, 2));
      conn.close();
    });
    const cases: [Partial<ProxyConfig>, boolean][] = [
      [{ allow: ["10.0.0.0/8"] }, false],
      [{ deny: ["127.0.0.0/8"] }, false],
      [{ allow: ["127.0.0.0/8"], deny: ["::ffff:127.0.0.1"] }, false],
      [{ allow: ["10.0.0.0/8", "127.0.0.1"] }, true],
      [{ deny: ["::1", "192.168.0.0/16"] }, true],
    ];
    for (const [rules, served] of cases) {
      await using proxy = startTestProxy({ target_addr: target.addr, engine, ...rules });
      const before = upstreamConnects;
      const conn = await dial(proxy.addr);
      if (served) {
        await writeAll(conn, new Uint8Array([7, 8]));
        assert.deepEqual([...await readExactly(conn, 2)], [7, 8], JSON.stringify(rules));
      } else {
        assert.equal(await readOutcome(conn), "eof", JSON.stringify(rules));
      }
      conn.close();
      const snap = proxy.snapshot();
      assert.equal(snap.denied_connections, served ? 0 : 1, JSON.stringify(rules));
      assert.equal(snap.total_connections, served ? 1 : 0, "denied clients are not accepted ones");
      const samples = await scrapeMetrics(proxy.app);
      assert.equal(samples.get("monkey_proxy_denied_connections_total"), served ? 0 : 1);
      await proxy.shutdown(1000);
      assert.equal(
        upstreamConnects - before,
        served ? 1 : 0,
        "no upstream connect for a denied client",
      );
    }
  },
);

testEchoProxy(
  "proxy relays between IPv6 client and target and names the client ::1",
  { listen_addr: "[::1]:0" },
  async (proxy) => {
    assert.match(proxy.addr, /^\[::1\]:\d+$/);
    const conn = await dial(proxy.addr);
    await writeAll(conn, new TextEncoder().encode("six"));
    assert.equal(new TextDecoder().decode(await readExactly(conn, 3)), "six");
    const clients = await (await proxy.app.request("/clients")).json();
    assert.deepEqual(clients.map((c: { ip: string }) => c.ip), ["::1"]);
    conn.close();
  },
);
