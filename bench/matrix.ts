/**
 * The ping-pong matrix: which targets run which scenarios, every run interleaved (each
 * repetition goes through every scenario and target in turn, so noise from other work on the
 * machine spreads over all of them), and the medians per cell.
 *
 * @module
 */

import {
  type ClientTlsSettings,
  runScenario,
  type Scenario,
  type ScenarioResult,
} from "@monkey/load-tester";
import { type EngineName, formatMicros } from "@monkey/shared";
import type { BenchOptions } from "./args.ts";
import { isGoalScenario } from "./goals.ts";
import { startHaproxy } from "./haproxy.ts";
import { startNginxStream } from "./nginx.ts";
import { ECHO_ROWS, OUR_ROWS, rowsFor, startOurEcho, startOurs } from "./ours.ts";
import { type BenchTarget, hasProgram, type ProcessGroup } from "./process_group.ts";
import { type BenchCell, type BenchRow, median } from "./table.ts";
import { runPingpong } from "./yardsticks.ts";

/** Per-run timeout for the load tester, s. */
export const RUN_TIMEOUT_SECS = 5;
/** A run whose measured time is off the planned time by more than this share is suspect. */
const DURATION_TOLERANCE = 0.2;
/** Runs again after a suspect run, at most. */
export const SUSPECT_RETRIES = 2;
/** Connection counts our echo server runs at (1 KiB; compared with the C echo server). */
const ECHO_CONNECTIONS = new Set([10, 100]);

/** A target and the scenarios it runs. */
export interface PlannedTarget {
  /** The started target. */
  target: BenchTarget;
  /** Whether it runs `scenario`. */
  runs(scenario: Scenario): boolean;
  /** The client speaks TLS to it with these settings. @default plain TCP */
  tls?: ClientTlsSettings;
  /**
   * Called before each of its runs (e.g. to open dashboards or read CPU time); what it
   * returns is called with the run's result afterwards.
   */
  around?: () => Promise<(result: ScenarioResult) => Promise<void> | void>;
}

/**
 * Start every matrix target in front of `backend`: the direct row, our rows on the available
 * engines, our echo server on each engine, HAProxy and nginx when installed.
 *
 * @param group Process tracking.
 * @param backend The echo backend.
 * @param engines Engines that can run here.
 * @returns The targets in column order, each with the scenarios it runs.
 * @example
 * ```ts
 * const plan = await startMatrixTargets(group, backend, ["epoll", "deno"]);
 * ```
 */
export async function startMatrixTargets(
  group: ProcessGroup,
  backend: BenchTarget,
  engines: readonly EngineName[],
): Promise<PlannedTarget[]> {
  const all = () => true;
  const direct = backend.name === "echo_srv (C)" ? "direct" : "direct (deno echo)";
  const plan: PlannedTarget[] = [
    { target: { ...backend, name: direct, stop: async () => {} }, runs: all },
  ];
  for (const row of rowsFor(OUR_ROWS, engines)) {
    plan.push({
      target: await startOurs(group, row, backend.addr),
      runs: row.scenarios === "goals" ? isGoalScenario : all,
    });
  }
  if (hasProgram("haproxy")) {
    plan.push({ target: await startHaproxy(group, backend.addr), runs: all });
  } else console.log("note: haproxy is not installed: no HAProxy column (apt-get install haproxy)");
  const nginx = hasProgram("nginx") ? startNginxStream(group, backend.addr) : undefined;
  if (nginx) plan.push({ target: await nginx, runs: all });
  else {
    console.log(
      "note: nginx or its stream module is not installed: no nginx column " +
        "(apt-get install nginx libnginx-mod-stream)",
    );
  }
  for (const row of rowsFor(ECHO_ROWS, engines)) {
    plan.push({
      target: await startOurEcho(group, row),
      runs: (s) => s.message_size === 1024 && ECHO_CONNECTIONS.has(s.connections),
    });
  }
  return plan;
}

/**
 * Whether a run cannot be trusted: it completed nothing and saw no error, or its measured time
 * is off the planned time by more than 20% (the client's own timers fired late, so the run did
 * not measure what it says it did).
 *
 * @param result The run.
 * @param plannedSecs Its planned measured time.
 * @returns True when the run should be repeated.
 * @example
 * ```ts
 * isSuspectRun({ ...result, requests: 0, duration_secs: 0 }, 3); // true
 * ```
 */
export function isSuspectRun(
  result: Pick<ScenarioResult, "requests" | "duration_secs" | "errors">,
  plannedSecs: number,
): boolean {
  if (result.requests === 0 && result.errors.total === 0) return true;
  return Math.abs(result.duration_secs - plannedSecs) > DURATION_TOLERANCE * plannedSecs;
}

/**
 * Every scenario against every target that runs it, `reps` times, interleaved, driven by the C
 * `pingpong` when it is given (a warmup run of the scenario's warmup time first, then the
 * measured run; TLS targets excepted) or else by the load tester on `options.clientEngine`.
 * A suspect run ({@linkcode isSuspectRun}) is repeated up to
 * twice; if it stays suspect it is kept and counted in its cell's `suspect`.
 *
 * @param plan Targets and their scenarios.
 * @param scenarios The matrix.
 * @param options Repetitions.
 * @param alternate Go through the targets in reverse order every second repetition (pairs
 *   compared side by side then take turns running first). @default false
 * @param pingpong The compiled C client, to drive the plain targets with.
 * @returns Results by target name, then scenario name.
 * @example
 * ```ts
 * const samples = await runMatrix(plan, scenarios, parseBenchArgs(["--quick"]));
 * ```
 */
export async function runMatrix(
  plan: readonly PlannedTarget[],
  scenarios: readonly Scenario[],
  options: BenchOptions,
  alternate = false,
  pingpong?: string,
): Promise<Map<string, Map<string, ScenarioResult[]>>> {
  const samples = new Map<string, Map<string, ScenarioResult[]>>();
  for (let rep = 1; rep <= options.reps; rep++) {
    const order = alternate && rep % 2 === 0 ? [...plan].reverse() : plan;
    for (const scenario of scenarios) {
      for (const { target, runs, tls, around } of order) {
        if (!runs(scenario)) continue;
        const once = async () => {
          const after = await around?.();
          const result = pingpong !== undefined && tls === undefined
            ? await runPingpongScenario(pingpong, target.addr, scenario)
            : await runScenario(scenario, {
              target: target.addr,
              timeout_secs: RUN_TIMEOUT_SECS,
              engine: options.clientEngine,
              tls,
            });
          await after?.(result);
          return result;
        };
        let result = await once();
        for (let retry = 1; retry <= SUSPECT_RETRIES; retry++) {
          if (!isSuspectRun(result, scenario.duration_secs)) break;
          console.log(
            `  rep ${rep}/${options.reps} ${scenario.name} ${target.name}: suspect run ` +
              `(${result.requests} requests in ${result.duration_secs}s of ` +
              `${scenario.duration_secs}s), again (${retry}/${SUSPECT_RETRIES})`,
          );
          result = await once();
        }
        const byScenario = samples.get(target.name) ?? new Map<string, ScenarioResult[]>();
        samples.set(target.name, byScenario);
        byScenario.set(scenario.name, [...byScenario.get(scenario.name) ?? [], result]);
        console.log(
          `  rep ${rep}/${options.reps} ${scenario.name.padEnd(14)} ${target.name.padEnd(18)} ` +
            `${Math.round(result.rps).toString().padStart(7)} req/s  p99 ${
              formatMicros(result.latency_us.p99)
            }  max ${formatMicros(result.latency_us.max)}` +
            (result.errors.total > 0 ? `  errors ${result.errors.total}` : "") +
            (isSuspectRun(result, scenario.duration_secs) ? "  SUSPECT (kept)" : ""),
        );
      }
    }
  }
  return samples;
}

/**
 * One ping-pong scenario through the C client: a warmup run, then the measured one, as the
 * load tester's result shape (the fields the matrix reads: rates, latency percentiles, errors).
 *
 * @param binary The compiled `pingpong`.
 * @param addr The target.
 * @param scenario Connections, message size, seconds, warmup.
 * @param warmedUp Called between the warmup and the measured run (e.g. to read CPU time).
 * @returns The measured run.
 * @throws {Error} When pingpong fails.
 * @example
 * ```ts
 * const result = await runPingpongScenario(built.pingpong, "127.0.0.1:8081", scenario);
 * ```
 */
export async function runPingpongScenario(
  binary: string,
  addr: string,
  scenario: Scenario,
  warmedUp?: () => Promise<void>,
): Promise<ScenarioResult> {
  const { connections, message_size: size, duration_secs: secs } = scenario;
  if (scenario.warmup_secs > 0) {
    await runPingpong(binary, addr, connections, size, scenario.warmup_secs);
  }
  await warmedUp?.();
  const run = await runPingpong(binary, addr, connections, size, secs);
  const latency = {
    min: NaN,
    mean: NaN,
    p50: run.p50_us,
    p90: NaN,
    p95: NaN,
    p99: run.p99_us,
    p999: NaN,
    max: run.max_us,
  };
  const requests = Math.round(run.rps * secs);
  return {
    name: scenario.name,
    mode: "pingpong",
    connections,
    message_size: size,
    duration_secs: secs,
    target_rate: 0,
    requests,
    rps: run.rps,
    throughput_up_bps: run.rps * size,
    throughput_down_bps: run.rps * size,
    latency_us: latency,
    errors: { total: run.errors, by_kind: run.errors > 0 ? { broken: run.errors } : {} },
    error_rate: requests > 0 ? run.errors / requests : 0,
    histogram: "",
  };
}

/**
 * The medians of one cell's runs.
 *
 * @param results The runs.
 * @param plannedSecs Their planned measured time (to count suspect runs).
 * @returns Median req/s, p50, p99 and max; errors and suspect runs summed.
 * @example
 * ```ts
 * const c = cellOf(samples.get("haproxy")!.get("baseline")!, 3);
 * ```
 */
export function cellOf(results: readonly ScenarioResult[], plannedSecs: number): BenchCell {
  const suspect = results.filter((r) => isSuspectRun(r, plannedSecs)).length;
  return {
    rps: median(results.map((r) => r.rps)),
    p50_us: median(results.map((r) => r.latency_us.p50)),
    p99_us: median(results.map((r) => r.latency_us.p99)),
    max_us: median(results.map((r) => r.latency_us.max)),
    errors: results.reduce((sum, r) => sum + r.errors.total, 0),
    ...(suspect > 0 ? { suspect } : {}),
  };
}

/**
 * The table rows: one per scenario, a median cell per target that ran it.
 *
 * @param scenarios The matrix.
 * @param samples What {@linkcode runMatrix} returned.
 * @returns Rows in scenario order.
 * @example
 * ```ts
 * const rows = matrixRows(scenarios, await runMatrix(plan, scenarios, options));
 * ```
 */
export function matrixRows(
  scenarios: readonly Scenario[],
  samples: ReadonlyMap<string, ReadonlyMap<string, ScenarioResult[]>>,
): BenchRow[] {
  return scenarios.map((s) => ({
    scenario: s.name,
    connections: s.connections,
    message_size: s.message_size,
    cells: Object.fromEntries(
      [...samples].flatMap(([target, byScenario]) => {
        const list = byScenario.get(s.name);
        return list ? [[target, cellOf(list, s.duration_secs)]] : [];
      }),
    ),
  }));
}
