import assert from "node:assert/strict";
import {
  Logger,
  memorySink,
  parsePrometheus,
  resolveEngine,
  sendProxyHeader,
  startFrontend,
  ThrottledLog,
} from "@monkey/shared";
import {
  assertClosedWithoutData,
  dial,
  readLine,
  startBlackHole,
  testEachEngine,
  waitFor,
} from "@monkey/testing";
import { echoLine, startTagged } from "./_testing.ts";
import { startLoadBalancer } from "./balancer.ts";
import { normalizeLbConfig } from "./config.ts";
import { createConnectionHandler, type ProxyHeaderWriter } from "./connection.ts";
import { LbMetrics } from "./metrics.ts";
import { BackendPool } from "./pool.ts";
import { createStrategy } from "./strategies.ts";

testEachEngine(
  "a connection keeps the settings it was accepted with when a reload lands while it connects",
  async ({ engine }) => {
    using hole = await startBlackHole();
    const backend = startTagged("b");
    const { sink } = memorySink();
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      proxy_protocol: "v1",
      retries: 1,
      connect_timeout_ms: 300,
      health_check: { interval_ms: 0 },
      engine,
      backends: [{ addr: hole.addr }, { addr: backend.addr }],
    }, { logger: new Logger({ sink }) });
    try {
      // Round robin sends the first client to the black hole: it stays between accept and connect.
      const early = await dial(lb.addr);
      await waitFor(() => lb.backends.get(hole.addr)!.active === 1, "connect to the hole", 5000);
      await lb.reload({ ...lb.config, proxy_protocol: "off", retries: 0 });

      // Accepted under retries = 1 and v1: retried on b after the timeout, with a PROXY header
      // (the tagged backend echoes it back after its tag).
      assert.equal(await readLine(early), "b", "retried under the settings it was accepted with");
      assert.match(
        (await readLine(early)) ?? "",
        /^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+\r$/,
      );
      assert.equal(lb.snapshot().failed_connections, 0);

      // A client accepted after the reload runs with the new settings: no header.
      lb.backends.drain(hole.addr);
      const late = await dial(lb.addr);
      assert.equal(await readLine(late), "b");
      assert.equal(await echoLine(late, "no header"), "no header");
      early.close();
      late.close();
    } finally {
      await lb.shutdown(0);
      await backend.close();
    }
  },
);

testEachEngine(
  "a failed PROXY header write closes the client, is counted and logged (throttled)",
  async ({ engine }) => {
    const backend = startTagged("p");
    const { sink, lines } = memorySink();
    const logger = new Logger({ sink, level: "debug" });
    const config = normalizeLbConfig({ proxy_protocol: "v2", backends: [{ addr: backend.addr }] });
    const pool = new BackendPool();
    pool.add({ addr: backend.addr, weight: 1, backup: false, max_connections: 0 });
    const metrics = new LbMetrics({
      pool,
      active: () => 0,
      accepting: () => true,
      strategy: () => config.strategy,
    });
    // The backend is gone by the time the header is written: a real socket error.
    const failingWriter: ProxyHeaderWriter = (upstream, mode, client) => {
      upstream.close();
      return sendProxyHeader(upstream, mode, client);
    };
    const throttled = new ThrottledLog(logger);
    const server = startFrontend({
      listen: "127.0.0.1:0",
      handler: createConnectionHandler({
        pool,
        metrics,
        health: { enabled: false, record: () => {} },
        settings: () => ({ config, strategy: createStrategy("round_robin") }),
        throttled,
        logger,
        writeProxyHeader: failingWriter,
        engine: resolveEngine(engine),
      }),
      maxConnections: 0,
      admits: () => true,
      denied: metrics.denied,
      rejected: metrics.rejected,
      throttled,
      logger,
      engine: resolveEngine(engine),
    });
    try {
      for (let i = 0; i < 3; i++) {
        await assertClosedWithoutData(server.addr, undefined, "the client is closed, not relayed");
      }
      await waitFor(() => pool.get(backend.addr)!.active === 0, "connections to finish", 5000);
      const snap = metrics.snapshot();
      assert.equal(snap.proxy_header_errors, 3);
      assert.equal(snap.relay_errors, 3);
      const samples = parsePrometheus(metrics.registry.render());
      assert.equal(samples.get("monkey_lb_proxy_header_errors_total"), 3);
      const logged = lines.filter((l) => l.includes("Cannot write the PROXY protocol v2 header"));
      assert.equal(logged.length, 1, `one line for three failures: ${lines.join("\n")}`);
      assert.ok(logged[0]!.includes(backend.addr));
      assert.equal(pool.get(backend.addr)!.total, 3);
    } finally {
      server.stopAccepting();
      await server.shutdown(0);
      await backend.close();
    }
  },
);
