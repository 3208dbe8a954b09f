/**
 * Running the matrix as one shard of a multi-machine run: each scenario cut to this shard's
 * part, the first measurement started at `--start-at`, and the shard recorded in the result.
 *
 * @module
 */

import type { Scenario } from "./config.ts";
import { encodeHistogram, mergeHistograms, summarize } from "./histogram.ts";
import { newRunReport, type RunReport, type ScenarioResult } from "./result.ts";
import { type RunOptions, runScenario } from "./runner.ts";
import { type Shard, shardScenario } from "./shard.ts";
import { waitUntil } from "./start_at.ts";

/** Options for {@linkcode runShard}. */
export interface ShardRunOptions {
  /** This process's shard; without it the whole scenarios run (but `startAt` still applies). */
  shard?: Shard;
  /** Wall-clock instant (ms since the epoch) the first measurement starts at. */
  startAt?: number;
  /** One-line notices ("shard 3/4 has 0 of 2 connections"; shards are 0-based). */
  notice?: (line: string) => void;
  /** Countdown while waiting for `startAt`. */
  countdown?: (secondsLeft: number) => void;
  /** Runs one scenario. @default runScenario */
  run?: (scenario: Scenario, options: RunOptions) => Promise<ScenarioResult>;
}

/**
 * Run scenarios in order as shard `shard` (each scenario's part of connections and rate),
 * waiting first until `startAt` minus the first scenario's warmup.
 *
 * @param scenarios The whole scenarios.
 * @param options Target, workers, signal, callbacks (as {@linkcode runScenario}).
 * @param shardOptions Shard, start instant, notices.
 * @returns The run report, with `shard` and `start` recorded.
 * @throws {ConnectError} When the target cannot be reached at all.
 * @example
 * ```ts
 * const report = await runShard(scenarios, { target: "127.0.0.1:8081" }, {
 *   shard: { index: 0, count: 2 }, // the first of two
 *   startAt: Date.now() + 5000,
 * });
 * ```
 */
export async function runShard(
  scenarios: readonly Scenario[],
  options: RunOptions,
  shardOptions: ShardRunOptions,
): Promise<RunReport> {
  const { shard, startAt } = shardOptions;
  const run = shardOptions.run ?? runScenario;
  const report = newRunReport(options.target);
  if (shard) report.shard = { index: shard.index, count: shard.count };
  if (startAt !== undefined) {
    const warmup = scenarios[0]?.warmup_secs ?? 0;
    const reached = await waitUntil(startAt - warmup * 1000, {
      ...(shardOptions.countdown ? { onTick: shardOptions.countdown } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!reached) return report;
    report.started_at = new Date().toISOString();
  }
  for (const whole of scenarios) {
    if (options.signal?.aborted) break;
    const part = shard ? shardScenario(whole, shard) : { scenario: whole, totals: undefined };
    let result: ScenarioResult;
    if (part.scenario.connections === 0) {
      shardOptions.notice?.(
        `scenario ${whole.name}: shard ${shard!.index}/${shard!.count} has 0 of ` +
          `${whole.connections} connections; it runs nothing`,
      );
      result = emptyResult(part.scenario);
    } else {
      result = await run(part.scenario, options);
    }
    // The engine's measured window; end minus duration would count the teardown as a late start.
    const end = result.window ? Date.parse(result.window.end) : Date.now();
    const start = result.window
      ? Date.parse(result.window.start)
      : end - result.duration_secs * 1000;
    if (report.start === undefined && startAt !== undefined) {
      report.start = {
        planned: new Date(startAt).toISOString(),
        actual: new Date(part.scenario.connections === 0 ? startAt : start).toISOString(),
      };
    }
    if (shard && part.totals) {
      result.shard = {
        index: shard.index,
        count: shard.count,
        totals: part.totals,
        window: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
      };
    }
    report.scenarios.push(result);
  }
  return report;
}

/** The result of a shard with no connections: nothing measured. */
function emptyResult(scenario: Scenario): ScenarioResult {
  const empty = mergeHistograms([]);
  return {
    name: scenario.name,
    mode: scenario.mode,
    protocol: scenario.protocol?.protocol ?? "echo",
    pipeline: scenario.protocol?.pipeline ?? 1,
    connections: 0,
    message_size: scenario.message_size,
    duration_secs: 0,
    target_rate: 0,
    requests: 0,
    rps: 0,
    throughput_up_bps: 0,
    throughput_down_bps: 0,
    latency_us: summarize(empty),
    errors: { total: 0, by_kind: {} },
    error_rate: 0,
    histogram: encodeHistogram(empty),
    unfinished: 0,
  };
}
