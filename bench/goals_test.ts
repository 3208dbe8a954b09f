import assert from "node:assert/strict";
import { evaluateGoals, formatGoalValue, isGoalScenario, renderGoals } from "./goals.ts";
import type { CostPair } from "./cost_rows.ts";
import type { BenchCell, BenchSummary } from "./table.ts";

function cell(rps: number, p99_us: number, max_us = p99_us * 2): BenchCell {
  return { rps, p50_us: p99_us / 2, p99_us, max_us, errors: 0 };
}

/** A run where epoll meets every goal and the deno engine meets none. */
function syntheticRun(): BenchSummary {
  const row = (connections: number, message_size: number, cells: Record<string, BenchCell>) => ({
    scenario: `${connections}x${message_size}`,
    connections,
    message_size,
    cells,
  });
  return {
    machine: { cpu: "Test", cpus: 2, os: "linux", kernel: "6", deno: "2.9.6", date: "now" },
    engines: { auto: "epoll", available: ["epoll", "deno"] },
    rows: [
      row(10, 1024, {
        direct: cell(100_000, 200),
        haproxy: cell(40_000, 500),
        "proxy-epoll": cell(48_000, 400), // 1.20x
        "proxy-deno": cell(36_000, 600), // 0.90x
        "echo-epoll": cell(97_000, 200), // 0.97x
        "echo-deno": cell(90_000, 200), // 0.90x
      }),
      row(100, 1024, {
        direct: cell(100_000, 2_000),
        haproxy: cell(50_000, 4_000),
        "proxy-epoll": cell(55_000, 3_000), // exactly 1.10x: the bound is kept
        "proxy-deno": cell(37_000, 7_000),
        "echo-epoll": cell(95_000, 2_000), // exactly 0.95x
        "echo-deno": cell(80_000, 2_000),
      }),
      row(500, 1024, {
        haproxy: cell(46_000, 20_000),
        "proxy-epoll": cell(52_000, 24_000, 90_000), // 1.13x, p99 1.20x, max 90 ms
        "proxy-deno": cell(30_000, 200_000, 2_000_000),
      }),
      row(10, 65536, {
        haproxy: cell(10_000, 2_000),
        "proxy-epoll": cell(17_000, 1_500), // 1.70x
        "proxy-deno": cell(15_000, 1_800),
      }),
    ],
    clients: [
      { client: "pingpong.c", rps: 100_000, p50_us: 90, p99_us: 200 },
      { client: "load tester (epoll)", engine: "epoll", rps: 97_000, p50_us: 92, p99_us: 210 },
      { client: "load tester (deno)", engine: "deno", rps: 80_000, p50_us: 120, p99_us: 300 },
    ],
    probes: [
      {
        engine: "epoll",
        load_rps: 50_000,
        count: 60,
        failures: 0,
        p50_ms: 2,
        p99_ms: 30,
        max_ms: 31,
      },
      {
        engine: "deno",
        load_rps: 30_000,
        count: 60,
        failures: 0,
        p50_ms: 5,
        p99_ms: 80,
        max_ms: 90,
      },
    ],
    memory: [
      { target: "proxy-epoll", bytes: 2.25 * 1024 },
      { target: "proxy-deno", bytes: 23.5 * 1024 },
      { target: "haproxy", bytes: 3.3 * 1024 },
    ],
    extra: [
      {
        id: "bulk",
        test: "bulk",
        unit: "Gbit/s",
        values: { haproxy: 8, "proxy-epoll": 12, "proxy-deno": 11.6 },
      },
      {
        id: "http-10",
        test: "http 10",
        unit: "req/s",
        values: { haproxy: 40_000, "proxy-epoll": 42_000, "proxy-deno": 36_000 },
      },
      {
        id: "http-100",
        test: "http 100",
        unit: "req/s",
        values: { haproxy: 40_000, "proxy-epoll": 40_000, "proxy-deno": 44_000 },
      },
    ],
    costs: [
      costPair("sni", 0.96),
      costPair("dashboards", 0.95), // exactly the bound: kept
      costPair("limits", 0.99),
    ],
    reps: 3,
    secs: 3,
  };
}

function costPair(id: string, ratio: number): CostPair {
  return {
    id,
    case: id,
    engine: "epoll",
    engine_label: "epoll",
    base: "a",
    variant: "b",
    base_rps: 10_000,
    variant_rps: 10_000 * ratio,
    ratio,
    errors: 0,
  };
}

Deno.test("evaluateGoals() reads every goal of the issue as a ratio or value, PASS for the auto engine", () => {
  const goals = evaluateGoals(syntheticRun(), "epoll");
  const byCase = Object.fromEntries(goals.map((g) => [g.case, g]));
  assert.equal(goals.length, 17);
  assert.deepEqual(goals.filter((g) => g.status !== "PASS").map((g) => g.case), []);
  const near = (actual: number | undefined, expected: number) =>
    assert.ok(
      actual !== undefined && Math.abs(actual - expected) < 1e-9,
      `${actual} vs ${expected}`,
    );
  near(byCase["1 KiB ping-pong, 10 conns"]!.auto, 1.2);
  near(byCase["1 KiB ping-pong, 100 conns"]!.auto, 1.1);
  near(byCase["p99 at 500 conns"]!.auto, 1.2);
  near(byCase["max latency at 500 conns"]!.auto, 90);
  near(byCase["64 KiB ping-pong, 10 conns"]!.auto, 1.7);
  near(byCase["bulk, iperf3 one stream"]!.auto, 1.5);
  near(byCase["HTTP keep-alive, wrk -> nginx, 100 conns"]!.auto, 1.0);
  near(byCase["RSS per idle proxied connection"]!.auto, 2.25);
  near(byCase["load tester vs pingpong.c, 10 conns 1 KiB"]!.auto, 0.97);
  near(byCase["echo server vs echo_srv.c, 100 conns"]!.auto, 0.95);
  near(byCase["GET /metrics p99 under 500-conn ping-pong"]!.auto, 30);
  near(byCase["SNI passthrough (LB sni route), TLS 1 KiB"]!.auto, 0.96);
  near(byCase["10 open dashboards, proxy 1 KiB"]!.auto, 0.95);
  near(byCase["per-client limits set, not hit, proxy 1 KiB"]!.auto, 0.99);
  // The cost pairs run on the auto engine only: no deno figure.
  assert.equal(byCase["per-client limits set, not hit, proxy 1 KiB"]!.deno, undefined);
  // The deno engine's figures ride along for reference.
  near(byCase["1 KiB ping-pong, 10 conns"]!.deno, 0.9);
  near(byCase["RSS per idle proxied connection"]!.deno, 23.5);
  near(byCase["GET /metrics p99 under 500-conn ping-pong"]!.deno, 80);
});

Deno.test("evaluateGoals() says MISS on the wrong side of a bound and n/a where a peer is missing", () => {
  const run = syntheticRun();
  // Judged as if auto were the deno engine: it misses the bounds the synthetic run gives it.
  const deno = Object.fromEntries(evaluateGoals(run, "deno").map((g) => [g.case, g.status]));
  assert.equal(deno["1 KiB ping-pong, 10 conns"], "MISS");
  assert.equal(deno["max latency at 500 conns"], "MISS");
  assert.equal(deno["RSS per idle proxied connection"], "MISS");
  assert.equal(deno["GET /metrics p99 under 500-conn ping-pong"], "MISS");
  assert.equal(deno["HTTP keep-alive, wrk -> nginx, 100 conns"], "PASS");
  // No HAProxy, no iperf3, no C compiler (direct is our own echo server), no probe.
  run.rows = run.rows.map((r) => ({
    ...r,
    cells: Object.fromEntries(
      Object.entries(r.cells).flatMap(([k, v]): [string, BenchCell][] =>
        k === "haproxy" ? [] : [[k === "direct" ? "direct (deno echo)" : k, v]]
      ),
    ),
  }));
  run.extra = [];
  run.clients = [];
  run.probes = [];
  run.costs = [costPair("sni", 0.94), costPair("limits", 0.965)]; // no dashboards pair

  const goals = evaluateGoals(run, "epoll");
  const status = Object.fromEntries(goals.map((g) => [g.case, g.status]));
  assert.equal(status["1 KiB ping-pong, 10 conns"], "n/a");
  assert.equal(status["bulk, iperf3 one stream"], "n/a");
  assert.equal(status["echo server vs echo_srv.c, 10 conns"], "n/a");
  assert.equal(status["load tester vs pingpong.c, 10 conns 1 KiB"], "n/a");
  assert.equal(status["GET /metrics p99 under 500-conn ping-pong"], "n/a");
  assert.equal(status["max latency at 500 conns"], "PASS"); // a value: needs no peer
  assert.equal(status["RSS per idle proxied connection"], "PASS");
  assert.equal(status["SNI passthrough (LB sni route), TLS 1 KiB"], "MISS");
  assert.equal(status["per-client limits set, not hit, proxy 1 KiB"], "MISS");
  assert.equal(status["10 open dashboards, proxy 1 KiB"], "n/a");
  assert.match(renderGoals(goals, "epoll"), /2 of 17 goals met; 13 not measured/);
});

Deno.test("renderGoals() prints the verdict for auto beside the deno engine's figure", () => {
  const text = renderGoals(evaluateGoals(syntheticRun(), "epoll"), "epoll");
  assert.match(text, /engine = "auto" = epoll/);
  assert.match(
    text,
    /\| 1 KiB ping-pong, 10 conns +\| >= 1\.1x HAProxy +\| 1\.20x +\| PASS +\| 0\.90x +\|/,
  );
  assert.match(
    text,
    /\| RSS per idle proxied connection +\| <= 4 KiB +\| 2\.3 KiB +\| PASS +\| 23\.5 KiB +\|/,
  );
  assert.match(text, /17 of 17 goals met$/);
  assert.equal(formatGoalValue(undefined, "x"), "-");
  assert.equal(formatGoalValue(12.345, "ms"), "12.3 ms");
});

Deno.test("isGoalScenario() keeps 1 KiB at 10, 100, 500 conns and 64 KiB at 10, nothing else", () => {
  assert.ok(isGoalScenario({ connections: 10, message_size: 1024 }));
  assert.ok(isGoalScenario({ connections: 500, message_size: 1024 }));
  assert.ok(isGoalScenario({ connections: 10, message_size: 65536 }));
  assert.ok(!isGoalScenario({ connections: 50, message_size: 1024 }));
  assert.ok(!isGoalScenario({ connections: 10, message_size: 64 }));
});
