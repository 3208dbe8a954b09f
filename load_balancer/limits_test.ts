import assert from "node:assert/strict";
import { readOutcome, scrapeMetrics, startBlackHole, testEachEngine } from "@monkey/testing";
import { connectTagged, startTagged, tagOf, withLb } from "./_testing.ts";
import type { LoadBalancer } from "./balancer.ts";

async function metric(lb: LoadBalancer, name: string): Promise<number | undefined> {
  return (await scrapeMetrics(lb.app)).get(name);
}

testEachEngine(
  "load balancer closes clients over max_connections at once and counts them",
  async ({ engine }) => {
    const backend = startTagged("a");
    await withLb(engine, { max_connections: 2, backends: [{ addr: backend.addr }] }, async (lb) => {
      const held = [await connectTagged(lb.addr), await connectTagged(lb.addr)];
      assert.deepEqual(held.map((h) => h.tag), ["a", "a"]);
      for (let i = 0; i < 3; i++) assert.equal(await tagOf(lb.addr), null, "closed at once");
      assert.equal(lb.snapshot().rejected_connections, 3);
      assert.equal(lb.snapshot().total_connections, 2, "rejected clients are not accepted ones");
      assert.equal(await metric(lb, "monkey_lb_rejected_connections_total"), 3);
      held[0]!.conn.close();
      // A slot frees once the first relay ends; then a new client is served again.
      const deadline = performance.now() + 5000;
      let tag: string | null = null;
      while (tag === null && performance.now() < deadline) tag = await tagOf(lb.addr);
      assert.equal(tag, "a");
      held[1]!.conn.close();
    });
    await backend.close();
  },
);

testEachEngine(
  "load balancer gives up on a backend that never accepts after connect_timeout_ms, tries the next, counts it",
  async ({ engine }) => {
    using hole = await startBlackHole();
    const backend = startTagged("b");
    await withLb(engine, {
      connect_timeout_ms: 100,
      retries: 1,
      backends: [{ addr: hole.addr }, { addr: backend.addr }],
    }, async (lb) => {
      const started = performance.now();
      assert.equal(await tagOf(lb.addr), "b", "the timed-out pick is retried on the next backend");
      const took = performance.now() - started;
      assert.ok(took >= 80 && took < 3000, `served after ${took} ms`);
      const snap = lb.snapshot();
      assert.equal(snap.retries, 1);
      assert.equal(snap.failed_connections, 0);
      const blackHole = snap.backends.find((b) => b.addr === hole.addr)!;
      assert.equal(blackHole.connect_errors, 1);
      assert.equal(
        (await scrapeMetrics(lb.app))
          .get(`monkey_lb_backend_connect_errors_total{backend="${hole.addr}"}`),
        1,
      );
    });
    await withLb(
      engine,
      { connect_timeout_ms: 100, retries: 0, backends: [{ addr: hole.addr }] },
      async (lb) => {
        const started = performance.now();
        assert.equal(await tagOf(lb.addr), null, "with nothing else to try the client is closed");
        assert.ok(performance.now() - started < 3000);
        assert.equal(lb.snapshot().failed_connections, 1);
      },
    );
    await backend.close();
  },
);

testEachEngine(
  "load balancer closes connections idle for idle_timeout_secs and counts them",
  async ({ engine }) => {
    const backend = startTagged("c");
    await withLb(
      engine,
      { idle_timeout_secs: 0.1, backends: [{ addr: backend.addr }] },
      async (lb) => {
        const { conn, tag } = await connectTagged(lb.addr);
        assert.equal(tag, "c");
        const started = performance.now();
        assert.notEqual(await readOutcome(conn), "data");
        assert.ok(performance.now() - started < 2000);
        conn.close();
        await lb.shutdown(1000);
        assert.equal(lb.snapshot().idle_timeouts, 1);
        assert.equal(await metric(lb, "monkey_lb_idle_timeouts_total"), 1);
      },
    );
    await backend.close();
  },
);

testEachEngine(
  "load balancer with every backend at its max_connections closes new clients and counts no_backend",
  async ({ engine }) => {
    const backend = startTagged("d");
    await withLb(engine, { backends: [{ addr: backend.addr, max_connections: 1 }] }, async (lb) => {
      const held = await connectTagged(lb.addr);
      assert.equal(held.tag, "d");
      assert.equal(await tagOf(lb.addr), null);
      assert.equal(lb.snapshot().no_backend, 1);
      assert.equal(await metric(lb, "monkey_lb_no_backend_total"), 1);
      assert.equal(lb.snapshot().backends[0]!.active_connections, 1);
      held.conn.close();
    });
    await backend.close();
  },
);
