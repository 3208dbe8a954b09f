/**
 * `least_latency` end to end: five in-process backends, one answering 20 ms late, ten clients
 * opening a connection per request through the balancer.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Logger, memorySink } from "@monkey/shared";
import { acceptLoop, readExactly, testEachEngine, writeAll } from "@monkey/testing";
import { startLoadBalancer } from "./balancer.ts";

const SLOW_MS = 20;
const CLIENTS = 10;
const REQUEST = new Uint8Array(16).fill(7);

/** A backend that reads one request, waits `delayMs` (changeable), answers it. */
function delayedBackend(delayMs: number) {
  const state = { delayMs };
  const loop = acceptLoop(async (conn) => {
    const request = await readExactly(conn, REQUEST.length);
    if (state.delayMs > 0) await sleep(state.delayMs);
    await writeAll(conn, request);
  });
  return { state, loop };
}

/** Clients that each open a connection per request until stopped. */
function startClients(addr: string, count: number) {
  const [hostname, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.split(":").pop())];
  let running = true;
  const one = async () => {
    while (running) {
      let conn: Deno.TcpConn | undefined;
      try {
        conn = await Deno.connect({ hostname, port });
        await writeAll(conn, REQUEST);
        await readExactly(conn, REQUEST.length);
      } catch {
        // a connection cut at shutdown
      } finally {
        conn?.close();
      }
    }
  };
  const done = Promise.all(Array.from({ length: count }, one));
  return async () => {
    running = false;
    await done;
  };
}

testEachEngine(
  "least_latency: a backend answering 20 ms late gets under 10%, the fast four a fair share, and it is back to a fair share within 5 s of becoming fast",
  async ({ engine }) => {
    const backends = Array.from({ length: 5 }, (_, i) => delayedBackend(i === 0 ? SLOW_MS : 0));
    const { sink } = memorySink();
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      engine,
      strategy: "least_latency",
      health_check: { interval_ms: 0 },
      backends: backends.map((b) => ({ addr: b.loop.addr })),
    }, { logger: new Logger({ sink }) });
    const pool = lb.backends.list();
    const totals = () => pool.map((b) => b.total);
    /** Connections per backend over the next `ms`. */
    const window = async (ms: number) => {
      const before = totals();
      await sleep(ms);
      return totals().map((n, i) => n - before[i]!);
    };
    const stopClients = startClients(lb.addr, CLIENTS);
    try {
      await sleep(1000); // within seconds
      const slowPhase = await window(1000);
      const sum = slowPhase.reduce((a, b) => a + b, 0);
      assert.ok(sum > 100, `enough traffic to judge: ${slowPhase}`);
      assert.ok(slowPhase[0]! / sum < 0.1, `slow backend share under 10%: ${slowPhase}`);
      const fastFair = (sum - slowPhase[0]!) / 4;
      for (const n of slowPhase.slice(1)) {
        assert.ok(
          Math.abs(n - fastFair) <= 0.5 * fastFair,
          `fast within ±50% of fair: ${slowPhase}`,
        );
      }
      backends[0]!.state.delayMs = 0;
      const flipped = performance.now();
      let last: number[] = [];
      let fair = false;
      while (!fair && performance.now() - flipped < 5000) {
        last = await window(500);
        const total = last.reduce((a, b) => a + b, 0);
        fair = last.every((n) => Math.abs(n - total / 5) <= 0.5 * (total / 5));
      }
      assert.ok(fair, `fair share within 5 s of the slow backend becoming fast: ${last}`);
    } finally {
      await stopClients();
      await lb.shutdown(0);
      await Promise.all(backends.map((b) => b.loop.close()));
    }
  },
);
