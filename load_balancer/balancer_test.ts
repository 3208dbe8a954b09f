import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import {
  assertSamples,
  closedPortAddr,
  scrapeMetrics,
  splitAddr,
  testEachEngine,
  waitFor,
} from "@monkey/testing";
import {
  closeAll,
  connectTagged,
  echoLine,
  startTagged,
  type TaggedBackend,
  tagOf,
  withAdminLb as withLb,
  withTaggedLb,
} from "./_testing.ts";

const FAST_CHECKS = { interval_ms: 50, timeout_ms: 200, rise: 2, fall: 2 };

testEachEngine(
  "round_robin sends clients to each backend in turn and counts per backend",
  async ({ engine }) => {
    await withTaggedLb(engine, ["a", "b", "c"], {}, async (lb, backends) => {
      const tags: (string | null)[] = [];
      for (let i = 0; i < 6; i++) tags.push(await tagOf(lb.addr));
      assert.deepEqual(tags, ["a", "b", "c", "a", "b", "c"]);
      await waitFor(() => lb.snapshot().active_connections === 0, "clients to finish");
      const samples = await scrapeMetrics(lb.app);
      for (const b of backends) {
        assertSamples(samples, {
          [`monkey_lb_backend_connections_total{backend="${b.addr}"}`]: 2,
          [`monkey_lb_backend_up{backend="${b.addr}"}`]: 1,
        });
      }
      assert.equal(samples.get("monkey_lb_connections_total"), 6);
      const json = await (await lb.app.request("/metrics?format=json")).json();
      assert.equal(json.total_connections, 6);
      assert.equal(json.backends.length, 3);
      assert.equal(json.engine, engine);
    });
  },
);

testEachEngine(
  "weighted_round_robin interleaves real connections by weight (streams relay)",
  async ({ engine }) => {
    await withTaggedLb(engine, ["a", "b", "c"], (backends) => ({
      strategy: "weighted_round_robin",
      relay: "streams",
      backends: [{ addr: backends[0]!.addr, weight: 5 }, { addr: backends[1]!.addr }, {
        addr: backends[2]!.addr,
      }],
    }), async (lb) => {
      let order = "";
      for (let i = 0; i < 7; i++) order += await tagOf(lb.addr);
      assert.equal(order, "aabacaa");
      const { conn } = await connectTagged(lb.addr);
      assert.equal(await echoLine(conn, "through pipeTo"), "through pipeTo");
      conn.close();
    });
  },
);

testEachEngine(
  "least_connections keeps long-lived connections even when some close",
  async ({ engine }) => {
    await withTaggedLb(engine, ["a", "b", "c"], {
      strategy: "least_connections",
    }, async (lb, backends) => {
      const held: { conn: Deno.TcpConn; tag: string | null }[] = [];
      for (let i = 0; i < 9; i++) held.push(await connectTagged(lb.addr));
      const count = (tag: string) => held.filter((h) => h.tag === tag).length;
      assert.deepEqual([count("a"), count("b"), count("c")], [3, 3, 3]);
      // Two of b's long-lived clients leave; the next two clients must fill b, not go round.
      const leaving = held.filter((h) => h.tag === "b").slice(0, 2);
      for (const h of leaving) h.conn.close();
      await waitFor(() => lb.backends.get(backends[1]!.addr)!.active === 1, "b to drop to 1");
      const next = [await connectTagged(lb.addr), await connectTagged(lb.addr)];
      assert.deepEqual(next.map((n) => n.tag), ["b", "b"]);
      for (const h of [...held.filter((h) => !leaving.includes(h)), ...next]) h.conn.close();
    });
  },
);

testEachEngine(
  "consistent_hash keeps one client IP on one backend; random_two_choices avoids the busy one",
  async ({ engine }) => {
    const backends = ["a", "b", "c"].map((t) => startTagged(t));
    await withLb(engine, {
      strategy: "consistent_hash",
      backends: backends.map((b) => ({ addr: b.addr })),
    }, async (lb) => {
      const first = await tagOf(lb.addr);
      for (let i = 0; i < 5; i++) assert.equal(await tagOf(lb.addr), first);
    });
    await withLb(engine, {
      strategy: "random_two_choices",
      backends: backends.map((b) => ({ addr: b.addr })),
    }, async (lb) => {
      // Pin five connections on "a" by draining the others, then enable them again.
      for (const b of backends.slice(1)) lb.backends.drain(b.addr);
      const held = [];
      for (let i = 0; i < 5; i++) held.push(await connectTagged(lb.addr));
      for (const b of backends.slice(1)) lb.backends.enable(b.addr);
      const tags = [];
      for (let i = 0; i < 10; i++) tags.push(await tagOf(lb.addr));
      assert.ok(!tags.includes("a"), tags.join(","));
      for (const h of held) h.conn.close();
    });
    await closeAll(backends);
  },
);

testEachEngine("least_latency measures connect time per backend", async ({ engine }) => {
  await withTaggedLb(engine, ["a", "b"], { strategy: "least_latency" }, async (lb) => {
    for (let i = 0; i < 4; i++) assert.ok(await tagOf(lb.addr));
    // Unmeasured backends are tried first, so both have a connect-time EWMA now.
    for (const b of lb.backends.list()) assert.ok(b.latencyEwma !== undefined && b.latencyEwma > 0);
    const rows = (await (await lb.app.request("/backends")).json()) as {
      connect_latency_ms: number | null;
    }[];
    assert.ok(rows.every((r) => typeof r.connect_latency_ms === "number"));
  });
});

testEachEngine(
  "a refused connect is retried on the next pick, marks the backend down after fall, and no client fails",
  async ({ engine }) => {
    const dead = closedPortAddr();
    await withTaggedLb(engine, ["a", "b"], (alive) => ({
      retries: 2,
      health_check: { interval_ms: 60_000, fall: 2 },
      backends: [{ addr: dead }, ...alive.map((b) => ({ addr: b.addr }))],
    }), async (lb, _alive, lines) => {
      const tags = [];
      for (let i = 0; i < 6; i++) tags.push(await tagOf(lb.addr));
      assert.ok(tags.every((t) => t === "a" || t === "b"), tags.join(","));
      const deadBackend = lb.backends.get(dead)!;
      // Passive: two failed connects reach fall=2 without waiting for a check.
      assert.equal(deadBackend.state, "down");
      assert.equal(deadBackend.connectErrors, 2);
      assert.equal(lb.snapshot().retries, 2);
      assert.equal(lb.snapshot().failed_connections, 0);
      assert.ok(lines.some((l) => l.includes(`backend ${dead} is DOWN`)));
    });
  },
);

testEachEngine(
  "with no backend available the client is closed at once and counted",
  async ({ engine }) => {
    const dead = closedPortAddr();
    await withLb(engine, { retries: 1, backends: [{ addr: dead }] }, async (lb) => {
      assert.equal(await tagOf(lb.addr), null);
      assert.equal(lb.snapshot().failed_connections, 1);
      lb.backends.drain(dead);
      assert.equal(await tagOf(lb.addr), null);
      assert.equal(lb.snapshot().no_backend, 1);
      const text = await (await lb.app.request("/metrics")).text();
      assert.match(text, /^monkey_lb_no_backend_total 1$/m);
    });
  },
);

testEachEngine(
  "failover: one of three backends killed under load costs no new client a failure",
  async ({ engine }) => {
    const echoes = [0, 1, 2].map(() =>
      startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", engine })
    );
    await withLb(engine, {
      retries: 2,
      health_check: FAST_CHECKS,
      backends: echoes.map((e) => ({ addr: e.addr })),
    }, async (lb) => {
      let ok = 0;
      let failed = 0;
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const [hostname, port] = splitAddr(lb.addr);
          const conn = await Deno.connect({ hostname, port });
          try {
            const reply = await echoLine(conn, "ping");
            if (reply === "ping") ok++;
            else failed++;
          } catch {
            failed++;
          } finally {
            conn.close();
          }
        }
      };
      const workers = Array.from({ length: 6 }, worker);
      await waitFor(() => ok >= 100, "traffic before the kill");
      // Stop accepting at once; its live connections finish within the grace period.
      const killed = echoes[1]!.shutdown(5000);
      await waitFor(
        () => lb.backends.get(echoes[1]!.addr)!.state === "down",
        "killed backend down",
      );
      const okAtDown = ok;
      await waitFor(() => ok >= okAtDown + 100, "traffic after the kill");
      stop = true;
      await Promise.all(workers);
      await killed;
      const snap = lb.snapshot();
      // The balancer placed every new client: no connect failure reached a client.
      assert.equal(snap.failed_connections, 0);
      assert.equal(snap.no_backend, 0);
      assert.ok(snap.retries + lb.backends.get(echoes[1]!.addr)!.connectErrors > 0);
      // A killed listener resets the connections still in its kernel accept queue (the
      // handshake had completed, so the balancer had already relayed the client's bytes).
      // Those are the only client failures allowed, and they show up as relay errors.
      assert.ok(failed <= snap.relay_errors, `failed ${failed}, relay errors ${snap.relay_errors}`);
    });
    await Promise.all([echoes[0]!.shutdown(0), echoes[2]!.shutdown(0)]);
  },
);

testEachEngine(
  "backup backends take traffic only when no primary is up, and hand it back",
  async ({ engine }) => {
    const primary = startTagged("primary");
    const backup = startTagged("backup");
    const primaryPort = Number(primary.addr.split(":")[1]);
    let revived: TaggedBackend | undefined;
    await withLb(engine, {
      health_check: FAST_CHECKS,
      backends: [{ addr: primary.addr }, { addr: backup.addr, backup: true }],
    }, async (lb) => {
      for (let i = 0; i < 3; i++) assert.equal(await tagOf(lb.addr), "primary");
      await primary.close();
      // The failed connect moves this very client to the backup.
      assert.equal(await tagOf(lb.addr), "backup");
      await waitFor(() => lb.backends.get(primary.addr)!.state === "down", "primary down");
      assert.equal(await tagOf(lb.addr), "backup");
      revived = startTagged("primary", primaryPort);
      await waitFor(() => lb.backends.get(primary.addr)!.state === "up", "primary up after rise");
      assert.equal(await tagOf(lb.addr), "primary");
    });
    await Promise.all([backup.close(), revived?.close()]);
  },
);

testEachEngine("a backend at its max_connections is skipped", async ({ engine }) => {
  await withTaggedLb(engine, ["a", "b"], (backends) => ({
    backends: [{ addr: backends[0]!.addr, max_connections: 1 }, { addr: backends[1]!.addr }],
  }), async (lb) => {
    const held = await connectTagged(lb.addr);
    assert.equal(held.tag, "a");
    const tags = [];
    for (let i = 0; i < 4; i++) tags.push(await tagOf(lb.addr));
    assert.deepEqual(tags, ["b", "b", "b", "b"]);
    held.conn.close();
  });
});
