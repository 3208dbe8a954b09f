/**
 * The `/metrics` latency probe: while 500 connections ping-pong 1 KiB messages through a fresh
 * proxy (the C client, or the load tester, in a process of its own), poll the proxy's
 * `GET /metrics` every {@linkcode PROBE_INTERVAL_MS} and time each answer. Steady state, as a
 * scraper sees it: one untimed scrape before the load (the first answer of a fresh process is
 * compile time), polling from the end of the load's warm-up (0.5 s: 500 connections opening
 * at once). An I/O loop that never yields starves the HTTP endpoint; this shows whether ours
 * does.
 *
 * @module
 */

import type { EngineName } from "@monkey/shared";
import type { BenchOptions } from "./args.ts";
import { runLoadTestProcess } from "./load_test_process.ts";
import { engineLabelOf, OUR_ROWS, startOurs } from "./ours.ts";
import type { BenchTarget, ProcessGroup } from "./process_group.ts";
import { median } from "./table.ts";
import { runPingpong } from "./yardsticks.ts";

/**
 * Pause between the end of one `/metrics` answer and the next request, ms: 70-90 answers in a
 * 3 s run under load (about 45 at 50 ms, where p99 was simply the slowest answer).
 */
export const PROBE_INTERVAL_MS = 20;
/** Connections of the load under the probe. */
export const PROBE_CONNECTIONS = 500;
/** Bytes per message of the load under the probe. */
export const PROBE_MESSAGE_SIZE = 1024;
/** The longest one `/metrics` request may take before it counts as failed, ms. */
const REQUEST_TIMEOUT_MS = 5_000;

/** Latency of `GET /metrics` over one or more runs. */
export interface ProbeStats {
  /** Answers timed. */
  count: number;
  /** Requests that failed or timed out. */
  failures: number;
  /** Median answer time, ms. */
  p50_ms: number;
  /** 99th percentile, ms. */
  p99_ms: number;
  /** Slowest answer, ms. */
  max_ms: number;
}

/** The probe on one engine: medians over the runs. */
export interface ProbeResult extends ProbeStats {
  /** Engine of the proxy. */
  engine: EngineName;
  /** Median req/s of the load under the probe. */
  load_rps: number;
}

/**
 * Nearest-rank percentile of ascending values: the smallest value with at least `p` percent
 * of the values at or below it.
 *
 * @param sorted Values in ascending order.
 * @param p Percentile, 0–100.
 * @returns The value, or NaN for no values.
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 50); // 2
 * percentile([1, 2, 3, 4], 99); // 4
 * ```
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/**
 * p50, p99 and max of answer times.
 *
 * @param latenciesMs Answer times, ms, in any order.
 * @param failures Requests that got no answer.
 * @returns The summary (NaN percentiles when nothing was timed).
 * @example
 * ```ts
 * summarizeProbe([3, 1, 2], 0).p50_ms; // 2
 * ```
 */
export function summarizeProbe(latenciesMs: readonly number[], failures: number): ProbeStats {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    failures,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
  };
}

/**
 * Poll `url` until `signal` aborts, one request at a time, {@linkcode PROBE_INTERVAL_MS} apart.
 *
 * @param url The endpoint, e.g. `http://127.0.0.1:9090/metrics`.
 * @param signal Stops the polling.
 * @returns Answer times (ms) and the count of failed requests.
 * @example
 * ```ts
 * const stats = await pollMetrics("http://127.0.0.1:9090/metrics", AbortSignal.timeout(1000));
 * ```
 */
export async function pollMetrics(
  url: string,
  signal: AbortSignal,
): Promise<{ latencies: number[]; failures: number }> {
  const latencies: number[] = [];
  let failures = 0;
  while (!signal.aborted) {
    const start = performance.now();
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      await response.text();
      if (response.ok) latencies.push(performance.now() - start);
      else failures++;
    } catch (error) {
      if (!(error instanceof TypeError) && (error as Error).name !== "TimeoutError") throw error;
      failures++;
    }
    if (signal.aborted) break;
    // Pacing between requests, not synchronisation: the probe samples at a steady rate.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, PROBE_INTERVAL_MS);
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
  return { latencies, failures };
}

/**
 * The C client's load for `warmupSecs + secs`, with `during` running from the end of the
 * warm-up (500 connections opening at once through a fresh proxy) until the load ends.
 */
async function underPingpong(
  binary: string,
  addr: string,
  secs: number,
  warmupSecs: number,
  during: (done: AbortSignal) => Promise<void>,
): Promise<{ rps: number }> {
  const done = new AbortController();
  const total = warmupSecs + secs;
  const load = runPingpong(binary, addr, PROBE_CONNECTIONS, PROBE_MESSAGE_SIZE, total)
    .finally(() => done.abort());
  // Pacing, not synchronisation: the probe starts where the load tester's warm-up would end.
  const polled = new Promise((resolve) => setTimeout(resolve, warmupSecs * 1000))
    .then(() => during(done.signal));
  const [run] = await Promise.all([load, polled]);
  if (run.errors > 0) throw new Error(`the /metrics probe's load saw ${run.errors} errors`);
  return run;
}

/**
 * The probe on each engine: a fresh single-threaded proxy with its endpoint on,
 * {@linkcode PROBE_CONNECTIONS} ping-pong connections through it from a process of their own
 * (the C `pingpong` when given, as in the matrix, else the load tester on its auto engine),
 * `GET /metrics` polled meanwhile; runs interleaved over engines, medians per engine.
 *
 * @param group Process tracking.
 * @param backend The echo backend.
 * @param engines Engines to probe.
 * @param options Repetitions and seconds.
 * @param pingpong The compiled C client, to make the load with.
 * @returns One result per engine.
 * @example
 * ```ts
 * const probes = await metricsProbe(group, backend, ["epoll", "deno"], parseBenchArgs(["--quick"]));
 * ```
 */
export async function metricsProbe(
  group: ProcessGroup,
  backend: BenchTarget,
  engines: readonly EngineName[],
  options: BenchOptions,
  pingpong?: string,
): Promise<ProbeResult[]> {
  const runs = new Map<EngineName, { stats: ProbeStats; rps: number }[]>();
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const engine of engines) {
      const row = OUR_ROWS.find((r) => r.label === engineLabelOf("proxy", engine))!;
      const proxy = await startOurs(group, row, backend.addr, { metrics_addr: "127.0.0.1:0" });
      try {
        let polled = { latencies: [] as number[], failures: 0 };
        const url = `http://${proxy.metricsAddr}/metrics`;
        // One scrape before the load, not timed: a fresh process's first answer is compile
        // time, not responsiveness (a scraper asks every few seconds for the process's life).
        await (await fetch(url)).text();
        const warmup = options.quick ? 0.2 : 0.5;
        const result = pingpong !== undefined
          ? await underPingpong(pingpong, proxy.addr, options.secs, warmup, async (done) => {
            polled = await pollMetrics(url, done);
          })
          : (await runLoadTestProcess(group, {
            target: proxy.addr,
            connections: PROBE_CONNECTIONS,
            message_size: PROBE_MESSAGE_SIZE,
            secs: options.secs,
            warmup_secs: warmup,
          }, async (done) => {
            polled = await pollMetrics(url, done);
          })).result;
        const stats = summarizeProbe(polled.latencies, polled.failures);
        runs.set(engine, [...runs.get(engine) ?? [], { stats, rps: result.rps }]);
        console.log(
          `  rep ${rep}/${options.reps} /metrics probe  ${row.label.padEnd(18)} ` +
            `p50 ${stats.p50_ms.toFixed(1)} ms  p99 ${stats.p99_ms.toFixed(1)} ms  max ${
              stats.max_ms.toFixed(1)
            } ms (${stats.count} answers, ${stats.failures} failed) under ${
              Math.round(result.rps)
            } req/s`,
        );
      } finally {
        await proxy.stop();
      }
    }
  }
  return [...runs].map(([engine, list]) => ({
    engine,
    load_rps: median(list.map((r) => r.rps)),
    count: list.reduce((sum, r) => sum + r.stats.count, 0),
    failures: list.reduce((sum, r) => sum + r.stats.failures, 0),
    p50_ms: median(list.map((r) => r.stats.p50_ms)),
    p99_ms: median(list.map((r) => r.stats.p99_ms)),
    max_ms: median(list.map((r) => r.stats.max_ms)),
  }));
}
