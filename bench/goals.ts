/**
 * The performance issue's goal table, plus the cost goals of the dashboards, TLS and limits
 * issues (12, 13, 14), evaluated on a bench run: each goal as a ratio to the peer measured in
 * the same run (or as a value), PASS or MISS for the engine `auto` resolves to, and the deno
 * engine's figure beside it for reference.
 *
 * @module
 */

import type { EngineName } from "@monkey/shared";
import { engineLabelOf } from "./ours.ts";
import type { BenchCell, BenchSummary } from "./table.ts";
import { markdownTable } from "./table.ts";

/** How a goal's figure reads. */
export type GoalUnit = "x" | "ms" | "KiB";

/** One goal, evaluated. */
export interface GoalResult {
  /** What is measured, e.g. "1 KiB ping-pong, 10 conns". */
  case: string;
  /** The goal as text, e.g. ">= 1.1x HAProxy". */
  goal: string;
  /** Unit of the figures. */
  unit: GoalUnit;
  /** The figure for the `auto` engine; undefined when it was not measured. */
  auto: number | undefined;
  /** The same figure for the deno engine (reference; no verdict). */
  deno: number | undefined;
  /** The verdict for `auto`: "n/a" when a peer or a row was missing. */
  status: "PASS" | "MISS" | "n/a";
}

/** A goal: how to read its figure from a run, and the bound it must keep. */
interface Goal {
  case: string;
  goal: string;
  unit: GoalUnit;
  /** `at-least`: figure >= bound; `at-most`: figure <= bound; `below`: figure < bound. */
  keep: "at-least" | "at-most" | "below";
  bound: number;
  measure(run: BenchSummary, engine: EngineName): number | undefined;
}

/** Message shapes the goals read from the ping-pong matrix: `[connections, bytes]`. */
export const GOAL_SHAPES: readonly (readonly [number, number])[] = [
  [10, 1024],
  [100, 1024],
  [500, 1024],
  [10, 65536],
];

/**
 * Whether a scenario is one the goals read (rows marked `scenarios: "goals"` run only these).
 *
 * @param scenario Its connections and message size.
 * @returns True for 1 KiB at 10, 100 or 500 connections and 64 KiB at 10.
 * @example
 * ```ts
 * isGoalScenario({ connections: 500, message_size: 1024 }); // true
 * ```
 */
export function isGoalScenario(scenario: { connections: number; message_size: number }): boolean {
  return GOAL_SHAPES.some(([c, size]) =>
    c === scenario.connections && size === scenario.message_size
  );
}

function cell(run: BenchSummary, target: string, conns: number, size: number) {
  const row = run.rows.find((r) => r.connections === conns && r.message_size === size);
  return row?.cells[target];
}

function divide(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) {
    return undefined;
  }
  return b > 0 ? a / b : undefined;
}

function vsHaproxy(conns: number, size: number, field: keyof BenchCell = "rps") {
  return (run: BenchSummary, engine: EngineName) =>
    divide(
      cell(run, engineLabelOf("proxy", engine), conns, size)?.[field],
      cell(run, "haproxy", conns, size)?.[field],
    );
}

function extraVsHaproxy(id: string) {
  return (run: BenchSummary, engine: EngineName) => {
    const extra = (run.extra ?? []).find((x) => x.id === id);
    return divide(extra?.values[engineLabelOf("proxy", engine)], extra?.values["haproxy"]);
  };
}

function costRatio(id: string) {
  return (run: BenchSummary, engine: EngineName) =>
    (run.costs ?? []).find((pair) => pair.id === id && pair.engine === engine)?.ratio;
}

function echoVsC(conns: number) {
  return (run: BenchSummary, engine: EngineName) =>
    divide(
      cell(run, engineLabelOf("echo", engine), conns, 1024)?.rps,
      cell(run, "direct", conns, 1024)?.rps, // "direct" is the C echo server only
    );
}

/** The performance issue's goals, in its order, then the cost goals of issues 12-14. */
const GOALS: readonly Goal[] = [
  ...[10, 100, 500].map((conns): Goal => ({
    case: `1 KiB ping-pong, ${conns} conns`,
    goal: ">= 1.1x HAProxy",
    unit: "x",
    keep: "at-least",
    bound: 1.1,
    measure: vsHaproxy(conns, 1024),
  })),
  {
    case: "p99 at 500 conns",
    goal: "<= 1.2x HAProxy's p99",
    unit: "x",
    keep: "at-most",
    bound: 1.2,
    measure: vsHaproxy(500, 1024, "p99_us"),
  },
  {
    case: "max latency at 500 conns",
    goal: "<= 100 ms",
    unit: "ms",
    keep: "at-most",
    bound: 100,
    measure: (run, engine) =>
      divide(cell(run, engineLabelOf("proxy", engine), 500, 1024)?.max_us, 1000),
  },
  {
    case: "64 KiB ping-pong, 10 conns",
    goal: ">= 1.6x HAProxy",
    unit: "x",
    keep: "at-least",
    bound: 1.6,
    measure: vsHaproxy(10, 65536),
  },
  {
    case: "bulk, iperf3 one stream",
    goal: ">= 1.4x HAProxy",
    unit: "x",
    keep: "at-least",
    bound: 1.4,
    measure: extraVsHaproxy("bulk"),
  },
  ...[10, 100].map((conns): Goal => ({
    case: `HTTP keep-alive, wrk -> nginx, ${conns} conns`,
    goal: ">= 1.0x HAProxy",
    unit: "x",
    keep: "at-least",
    bound: 1.0,
    measure: extraVsHaproxy(`http-${conns}`),
  })),
  {
    case: "RSS per idle proxied connection",
    goal: "<= 4 KiB",
    unit: "KiB",
    keep: "at-most",
    bound: 4,
    measure: (run, engine) =>
      divide(run.memory.find((m) => m.target === engineLabelOf("proxy", engine))?.bytes, 1024),
  },
  {
    case: "load tester vs pingpong.c, 10 conns 1 KiB",
    goal: ">= 0.95x",
    unit: "x",
    keep: "at-least",
    bound: 0.95,
    measure: (run, engine) =>
      divide(
        run.clients.find((c) => c.engine === engine)?.rps,
        run.clients.find((c) => c.engine === undefined)?.rps,
      ),
  },
  ...[10, 100].map((conns): Goal => ({
    case: `echo server vs echo_srv.c, ${conns} conns`,
    goal: ">= 0.95x",
    unit: "x",
    keep: "at-least",
    bound: 0.95,
    measure: echoVsC(conns),
  })),
  {
    case: "GET /metrics p99 under 500-conn ping-pong",
    goal: "< 50 ms",
    unit: "ms",
    keep: "below",
    bound: 50,
    measure: (run, engine) => (run.probes ?? []).find((p) => p.engine === engine)?.p99_ms,
  },
  {
    case: "SNI passthrough (LB sni route), TLS 1 KiB",
    goal: ">= 0.95x LB without routes",
    unit: "x",
    keep: "at-least",
    bound: 0.95,
    measure: costRatio("sni"),
  },
  {
    case: "10 open dashboards, proxy 1 KiB",
    goal: ">= 0.95x none open",
    unit: "x",
    keep: "at-least",
    bound: 0.95,
    measure: costRatio("dashboards"),
  },
  {
    case: "per-client limits set, not hit, proxy 1 KiB",
    goal: ">= 0.97x no limits",
    unit: "x",
    keep: "at-least",
    bound: 0.97,
    measure: costRatio("limits"),
  },
];

function verdict(goal: Goal, value: number | undefined): GoalResult["status"] {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const kept = goal.keep === "at-least"
    ? value >= goal.bound
    : goal.keep === "at-most"
    ? value <= goal.bound
    : value < goal.bound;
  return kept ? "PASS" : "MISS";
}

/**
 * Evaluate every goal on a run.
 *
 * @param run The bench's results (medians).
 * @param auto What `engine = "auto"` resolves to on this machine (the engine judged).
 * @returns One result per goal, in the order.
 * @example
 * ```ts
 * const goals = evaluateGoals(summary, "epoll");
 * console.log(goals.filter((g) => g.status === "MISS").map((g) => g.case));
 * ```
 */
export function evaluateGoals(run: BenchSummary, auto: EngineName): GoalResult[] {
  return GOALS.map((goal) => {
    const measured = goal.measure(run, auto);
    const deno = goal.measure(run, "deno");
    return {
      case: goal.case,
      goal: goal.goal,
      unit: goal.unit,
      auto: measured !== undefined && Number.isFinite(measured) ? measured : undefined,
      deno: deno !== undefined && Number.isFinite(deno) ? deno : undefined,
      status: verdict(goal, measured),
    };
  });
}

/**
 * A goal's figure as text: `1.23x`, `12.3 ms`, `2.2 KiB`, or `-` when not measured.
 *
 * @param value The figure.
 * @param unit Its unit.
 * @returns Text.
 * @example
 * ```ts
 * formatGoalValue(1.234, "x"); // "1.23x"
 * ```
 */
export function formatGoalValue(value: number | undefined, unit: GoalUnit): string {
  if (value === undefined) return "-";
  return unit === "x" ? `${value.toFixed(2)}x` : `${value.toFixed(1)} ${unit}`;
}

/**
 * The goals table, with a count of goals met.
 *
 * @param goals Results of {@linkcode evaluateGoals}.
 * @param auto What `auto` resolved to (named in the header).
 * @returns Text.
 * @example
 * ```ts
 * console.log(renderGoals(evaluateGoals(summary, "epoll"), "epoll"));
 * ```
 */
export function renderGoals(goals: readonly GoalResult[], auto: EngineName): string {
  const met = goals.filter((g) => g.status === "PASS").length;
  const missing = goals.filter((g) => g.status === "n/a").length;
  return [
    `Goals (engine = "auto" = ${auto}; ratios of medians to the peer in the same run; ` +
    `deno engine for reference):`,
    markdownTable(
      ["Case", "Goal", `auto (${auto})`, "Verdict", "deno (reference)"],
      goals.map((g) => [
        g.case,
        g.goal,
        formatGoalValue(g.auto, g.unit),
        g.status,
        formatGoalValue(g.deno, g.unit),
      ]),
    ),
    `${met} of ${goals.length} goals met` +
    (missing > 0 ? `; ${missing} not measured (a peer or row missing)` : ""),
  ].join("\n");
}
