/**
 * The per-second series of a scenario (requests/s, errors/s, p50/p90/p99/max of that second),
 * sampled while it runs, kept in the JSON result (small: one short row per second) for the
 * HTML report and shown live on the `--metrics` dashboard.
 *
 * @module
 */

import { createHistogram, type LatencyHistogram } from "./histogram.ts";
import type { LiveStatus } from "./runner.ts";

/** One second of a run. */
export interface SecondSample {
  /** Measured seconds at the end of this sample. */
  t: number;
  /** Requests per second over this sample (about one second; the last may be shorter). */
  rps: number;
  /** Errors per second over this sample. */
  errors: number;
  /** Median latency of this second's requests, µs (0 when none). */
  p50: number;
  /** 90th percentile of this second, µs. */
  p90: number;
  /** 99th percentile of this second, µs. */
  p99: number;
  /** Slowest request of this second, µs. */
  max: number;
}

/** Seconds kept at most (an hour); a longer run keeps its first hour of seconds. */
export const MAX_SAMPLES = 3600;
const SAMPLE_MS = 1000;
/** A final sample shorter than this is dropped (too few requests for percentiles). */
const MIN_SAMPLE_SECS = 0.25;

/**
 * Samples a running scenario once a second.
 *
 * @example
 * ```ts
 * const recorder = new SeriesRecorder();
 * recorder.start(status, () => engine.snapshot().latency);
 * const series = recorder.stop();
 * ```
 */
export class SeriesRecorder {
  #samples: SecondSample[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #sample: (() => void) | undefined;

  /** The samples so far (of the running scenario, or the last one). */
  get samples(): readonly SecondSample[] {
    return this.#samples;
  }

  /**
   * Start sampling a scenario (stops sampling the previous one).
   *
   * @param status The scenario's live status.
   * @param histogram Its cumulative latency histogram so far.
   */
  start(status: () => LiveStatus, histogram: () => LatencyHistogram): void {
    this.stop();
    this.#samples = [];
    // Counted from here: what the scenario did before start() is not in the first second.
    const initial = status();
    let before: LatencyHistogram | undefined = copy(histogram());
    let lastRequests = initial.requests;
    let lastErrors = Object.values(initial.errors).reduce((a, b) => a + b, 0);
    let lastT = initial.elapsed_secs;
    this.#sample = () => {
      const s = status();
      const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
      const now = copy(histogram());
      if (
        s.warming_up || s.requests < lastRequests || (before && now.totalCount < before.totalCount)
      ) {
        // Warmup, or the counters restarted: begin again from here.
        before = now;
        lastRequests = s.requests;
        lastErrors = errors;
        lastT = s.elapsed_secs;
        return;
      }
      const dt = s.elapsed_secs - lastT;
      if (dt < MIN_SAMPLE_SECS) return;
      const second = copy(now);
      if (before) second.subtract(before);
      before = now;
      if (this.#samples.length < MAX_SAMPLES) {
        this.#samples.push({
          t: Math.round(s.elapsed_secs * 10) / 10,
          rps: Math.round((s.requests - lastRequests) / dt),
          errors: Math.round(Math.max(0, errors - lastErrors) / dt),
          ...percentiles(second),
        });
      }
      lastRequests = s.requests;
      lastErrors = errors;
      lastT = s.elapsed_secs;
    };
    this.#timer = setInterval(this.#sample, SAMPLE_MS);
  }

  /**
   * Stop sampling.
   *
   * @returns The samples of the scenario that ran.
   */
  stop(): SecondSample[] {
    this.#sample?.(); // the last part second, when long enough to mean something
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sample = undefined;
    return this.#samples;
  }
}

/**
 * Merge the series of the same scenario from several machines: second by second, rates
 * summed, percentiles the highest of the machines' (an upper bound: the exact
 * per-second percentile of all samples is not kept).
 *
 * @param series Each machine's series (missing ones skipped).
 * @returns The merged series, or undefined when none had one.
 * @example
 * ```ts
 * mergeSeries([a.series, b.series]);
 * ```
 */
export function mergeSeries(
  series: readonly (readonly SecondSample[] | undefined)[],
): SecondSample[] | undefined {
  const present = series.filter((s): s is readonly SecondSample[] => s !== undefined);
  if (present.length === 0) return undefined;
  const length = Math.max(...present.map((s) => s.length));
  const merged: SecondSample[] = [];
  for (let i = 0; i < length; i++) {
    const rows = present.map((s) => s[i]).filter((r): r is SecondSample => r !== undefined);
    merged.push({
      t: Math.max(...rows.map((r) => r.t)),
      rps: rows.reduce((a, r) => a + r.rps, 0),
      errors: rows.reduce((a, r) => a + r.errors, 0),
      p50: Math.max(...rows.map((r) => r.p50)),
      p90: Math.max(...rows.map((r) => r.p90)),
      p99: Math.max(...rows.map((r) => r.p99)),
      max: Math.max(...rows.map((r) => r.max)),
    });
  }
  return merged;
}

function copy(histogram: LatencyHistogram): LatencyHistogram {
  const out = createHistogram();
  out.add(histogram);
  return out;
}

function percentiles(h: LatencyHistogram): Pick<SecondSample, "p50" | "p90" | "p99" | "max"> {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    max: h.getValueAtPercentile(100),
  };
}
