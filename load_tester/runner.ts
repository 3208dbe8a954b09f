/**
 * Running scenarios: on this thread (one worker) or spread over Deno Workers whose results
 * are merged exactly, with a live view for progress lines and the metrics endpoint.
 *
 * @module
 */

import { ConnectError, type EngineChoice } from "@monkey/shared";
import type { ClientTlsSettings } from "./client_tls.ts";
import type { Scenario } from "./config.ts";
import { type EngineSpec, LoadEngine } from "./engine.ts";
import { addErrorCounts, totalErrors } from "./errors.ts";
import {
  decodeHistogram,
  type LatencyHistogram,
  type LatencySummary,
  mergeHistograms,
  summarize,
} from "./histogram.ts";
import {
  buildResult,
  newRunReport,
  type RunReport,
  type ScenarioResult,
  type ScenarioShape,
} from "./result.ts";
import { mergeResults } from "./result_merge.ts";
import type { WorkerReply, WorkerRequest } from "./_worker_protocol.ts";

/** A live look at the scenario being run. */
export interface LiveStatus {
  /** Scenario name. */
  scenario: string;
  /** Measured seconds so far (0 while warming up). */
  elapsed_secs: number;
  /** Measured seconds planned. */
  duration_secs: number;
  /** True during warmup. */
  warming_up: boolean;
  /** Requests so far. */
  requests: number;
  /** Errors so far, by kind. */
  errors: Record<string, number>;
  /** Latency so far. */
  latency: LatencySummary;
}

/** Options for {@linkcode runScenario} and {@linkcode runMatrix}. */
export interface RunOptions {
  /** Target `host:port`. */
  target: string;
  /** Deno Workers to spread connections over; 1 runs on this thread. @default 1 */
  workers?: number;
  /** Connect timeout and longest wait for an echo, seconds. @default 5 */
  timeout_secs?: number;
  /** I/O engine of the connections. @default "auto" */
  engine?: EngineChoice;
  /** Speak TLS with these settings (the deno engine then, whatever `engine` says). */
  tls?: ClientTlsSettings | undefined;
  /** Aborting stops early; the partial result is returned. */
  signal?: AbortSignal;
  /**
   * Called when a scenario starts, with functions returning its live status and its latency
   * histogram so far (for per-second series).
   */
  onStart?: (
    scenario: Scenario,
    status: () => LiveStatus,
    histogram: () => LatencyHistogram,
  ) => void;
  /** Called when a scenario ends. */
  onEnd?: (scenario: Scenario, result: ScenarioResult) => void;
}

const DEFAULT_TIMEOUT_SECS = 5;

/**
 * Run one scenario against the target.
 *
 * @param scenario What to run.
 * @param options Target, workers, timeout, abort signal and live callbacks.
 * @returns The scenario's result.
 * @throws {ConnectError} When the target cannot be reached at all.
 * @example
 * ```ts
 * const result = await runScenario(
 *   { name: "x", mode: "pingpong", connections: 4, duration_secs: 1, message_size: 1024, rate: 0, warmup_secs: 0 },
 *   { target: "127.0.0.1:8081" },
 * );
 * console.log(result.rps, result.latency_us.p99);
 * ```
 */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions,
): Promise<ScenarioResult> {
  const workers = Math.max(1, Math.min(options.workers ?? 1, scenario.connections));
  const specs = splitSpec(scenario, options, workers);
  const shape = (spec: EngineSpec) => ({
    name: scenario.name,
    mode: scenario.mode,
    protocol: scenario.protocol?.protocol ?? "echo",
    pipeline: scenario.protocol?.pipeline ?? 1,
    connections: spec.connections,
    message_size: scenario.message_size,
    rate: spec.rate,
  });
  if (workers === 1) {
    const spec = specs[0]!;
    const engine = new LoadEngine(spec);
    options.onStart?.(scenario, () => {
      const s = engine.snapshot();
      return {
        scenario: scenario.name,
        elapsed_secs: s.elapsed_secs,
        duration_secs: scenario.duration_secs,
        warming_up: s.warming_up,
        requests: s.requests,
        errors: s.errors,
        latency: summarize(s.latency),
      };
    }, () => engine.snapshot().latency);
    const result = buildResult(shape(spec), await engine.run(options.signal));
    options.onEnd?.(scenario, result);
    return result;
  }
  return await runOnWorkers(scenario, specs, shape, options);
}

async function runOnWorkers(
  scenario: Scenario,
  specs: EngineSpec[],
  shape: (spec: EngineSpec) => ScenarioShape,
  options: RunOptions,
): Promise<ScenarioResult> {
  const latest: (Extract<WorkerReply, { type: "progress" }> | undefined)[] = specs.map(() =>
    undefined
  );
  let merged: { at: number; histogram: LatencyHistogram } | undefined;
  options.onStart?.(scenario, () => {
    const errors: Record<string, number> = {};
    let requests = 0;
    let elapsed = 0;
    let warming = specs.length > 0;
    const histograms: string[] = [];
    for (const p of latest) {
      if (p === undefined) continue;
      requests += p.requests;
      addErrorCounts(errors, p.errors);
      elapsed = Math.max(elapsed, p.elapsed_secs);
      warming &&= p.warming_up;
      histograms.push(p.histogram);
    }
    const now = performance.now();
    if (merged === undefined || now - merged.at > 400) {
      merged = { at: now, histogram: mergeHistograms(histograms.map(decodeHistogram)) };
    }
    return {
      scenario: scenario.name,
      elapsed_secs: elapsed,
      duration_secs: scenario.duration_secs,
      warming_up: warming && latest.some((p) => p !== undefined),
      requests,
      errors,
      latency: summarize(merged.histogram),
    };
  }, () => merged?.histogram ?? mergeHistograms([]));
  const workers = specs.map(() =>
    new Worker(new URL("./worker.ts", import.meta.url), { type: "module" })
  );
  const stopAll = () => {
    for (const w of workers) w.postMessage({ type: "stop" } satisfies WorkerRequest);
  };
  options.signal?.addEventListener("abort", stopAll, { once: true });
  try {
    const results = await Promise.all(
      workers.map((worker, i) =>
        new Promise<ScenarioResult>((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<WorkerReply>) => {
            const reply = event.data;
            if (reply.type === "progress") latest[i] = reply;
            else if (reply.type === "done") resolve(reply.result);
            else if (reply.type === "connect_error") {
              stopAll();
              reject(new ConnectError(reply.addr, reply.kind, reply.message.replace(/^.*?: /, "")));
            } else {
              stopAll();
              reject(new Error(reply.message));
            }
          };
          worker.onerror = (event) => {
            event.preventDefault();
            stopAll();
            reject(new Error(`load worker failed: ${event.message}`));
          };
          const spec = specs[i]!;
          worker.postMessage({ type: "run", spec, shape: shape(spec) } satisfies WorkerRequest);
        })
      ),
    );
    const result = mergeResults(results);
    options.onEnd?.(scenario, result);
    return result;
  } finally {
    options.signal?.removeEventListener("abort", stopAll);
    for (const w of workers) w.terminate();
  }
}

/** Split connections (and the rate, proportionally) over workers. */
function splitSpec(scenario: Scenario, options: RunOptions, workers: number): EngineSpec[] {
  const specs: EngineSpec[] = [];
  const base = Math.floor(scenario.connections / workers);
  const extra = scenario.connections % workers;
  for (let i = 0; i < workers; i++) {
    const connections = base + (i < extra ? 1 : 0);
    specs.push({
      target: options.target,
      mode: scenario.mode,
      connections,
      message_size: scenario.message_size,
      duration_secs: scenario.duration_secs,
      warmup_secs: scenario.warmup_secs,
      rate: scenario.rate * (connections / scenario.connections),
      timeout_secs: options.timeout_secs ?? DEFAULT_TIMEOUT_SECS,
      engine: options.engine ?? "auto",
      ...(scenario.protocol ? { protocol: scenario.protocol } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    });
  }
  return specs;
}

/**
 * Run scenarios one after another (the matrix). Stops after the current scenario when the
 * signal aborts.
 *
 * @param scenarios Scenarios in order.
 * @param options Target, workers, timeout, signal and callbacks.
 * @returns The run report (the `--format json` document).
 * @throws {ConnectError} When the target cannot be reached at all.
 */
export async function runMatrix(
  scenarios: readonly Scenario[],
  options: RunOptions,
): Promise<RunReport> {
  const report = newRunReport(options.target);
  for (const scenario of scenarios) {
    if (options.signal?.aborted) break;
    report.scenarios.push(await runScenario(scenario, options));
  }
  return report;
}

/**
 * Whether a scenario completed no request at all (the run then exits 1): every request failed,
 * or none was answered before the end.
 *
 * @param result A scenario result.
 * @returns True when it has no successful request but sent some (errors or unfinished).
 */
export function allFailed(result: ScenarioResult): boolean {
  return result.requests === 0 &&
    (totalErrors(result.errors.by_kind) > 0 || (result.unfinished ?? 0) > 0);
}
