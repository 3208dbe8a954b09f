import assert from "node:assert/strict";
import { Logger, memorySink } from "@monkey/shared";
import * as fault from "@monkey/testing/fault";
import { closedPortAddr, requires, testEachEngine } from "@monkey/testing";
import { type LbConfigInput, startLoadBalancer } from "./mod.ts";

const LIMIT = 4;
/**
 * The epoll engine (the default where it runs) carries the full 2000 connections; the deno
 * engine's relay and accept path carry a full run under the proxy's fault suite, so here 1000
 * connections prove the balancer's own paths (retries past the dead backend, limits) on it. At
 * most 120 open at once, as in the proxy's suite (with 250 under load, relays idle out before
 * their peers in this thread get to send; see proxy/fault_test.ts).
 */
const RUNS = {
  epoll: { connections: 2000, concurrency: 120 },
  deno: { connections: 1000, concurrency: 120 },
} as const;

testEachEngine(
  "load balancer survives the fault suite with a dead backend in the pool: byte-exact, no hang, no leak, bounded memory",
  async ({ engine }) => {
    const { sink, lines } = memorySink();
    const logger = new Logger({ name: "lb", sink, level: "warn" });
    // Two healthy (if misbehaving) backends and one dead port: retries must hide the dead one.
    await using upstream = fault.startFaultUpstream({ listeners: 2 });
    const deadAddr = closedPortAddr();
    const start = (config: LbConfigInput) =>
      startLoadBalancer({
        listen_addr: "127.0.0.1:0",
        metrics_addr: "off",
        strategy: "round_robin",
        engine,
        // Closes the silent upstreams; long enough that a client starved by a loaded machine
        // (all peers share this process) is not taken for idle.
        idle_timeout_secs: 5,
        connect_timeout_ms: 2000,
        retries: 2,
        health_check: { interval_ms: 0 },
        backends: [...upstream.addrs.map((addr) => ({ addr })), { addr: deadAddr }],
        ...config,
      }, { logger });
    const main = start({});
    const deadLb = start({ backends: [{ addr: deadAddr }] });
    // Its holders wait while the knocks are refused: no idle close may free a slot meanwhile.
    const limited = start({ max_connections: LIMIT, idle_timeout_secs: 30 });
    await fault.runFaultTrial({
      upstream,
      main,
      dead: deadLb,
      limited,
      limit: LIMIT,
      ...RUNS[engine],
      label: `load balancer engine=${engine}`,
      logLines: lines,
      check(report) {
        const snap = main.snapshot();
        assert.equal(snap.failed_connections, 0, "the dead backend never cost a client");
        assert.equal(snap.no_backend, 0);
        assert.ok(snap.retries > 0, "the dead backend was retried past");
        for (const backend of snap.backends) assert.equal(backend.active_connections, 0);
        const deadSnap = deadLb.snapshot();
        assert.ok(deadSnap.failed_connections + deadSnap.no_backend >= report.byKind.dead_port);
      },
    });
  },
  requires("read", "run"),
);
