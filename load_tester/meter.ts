/**
 * What one engine counts: completed requests, errors by kind with a few samples, latency
 * histograms, HTTP status codes, requests per mix entry and reconnects. Plain counters,
 * updated on the hot path without allocating.
 *
 * @module
 */

import { emptyErrorCounts, type ErrorCounts, type ErrorKind } from "./errors.ts";
import { createHistogram, type LatencyHistogram } from "./histogram.ts";

/** Samples kept per error kind. */
export const SAMPLES_PER_KIND = 3;
const STATUS_CODES = 1000;

/**
 * The counters of one engine.
 *
 * @example
 * ```ts
 * const meter = new Meter({ uncorrected: false, connect: false, mix: 1 });
 * meter.error("reply_error", "ERR unknown command");
 * ```
 */
export class Meter {
  /** Latency, µs. */
  readonly latency: LatencyHistogram = createHistogram();
  /** Open loop: latency from the actual send time. */
  readonly uncorrected: LatencyHistogram | undefined;
  /** Churn: connect latency. */
  readonly connect: LatencyHistogram | undefined;
  /** Completed, verified requests. */
  requests = 0;
  /** Errors by kind. */
  errors: ErrorCounts = emptyErrorCounts();
  /** Up to {@linkcode SAMPLES_PER_KIND} distinct samples per kind. */
  samples: Record<string, string[]> = {};
  /** HTTP responses by status code. */
  readonly codes = new Float64Array(STATUS_CODES);
  /** Completed requests per mix entry. */
  readonly mix: Float64Array;
  /** Connections re-opened after the server closed a keep-alive connection. */
  reconnects = 0;
  /** Requests still in flight when the run stopped. */
  unfinished = 0;

  /**
   * Fresh counters.
   *
   * @param options Which optional histograms to keep; mix entries.
   */
  constructor(options: { uncorrected: boolean; connect: boolean; mix: number }) {
    this.uncorrected = options.uncorrected ? createHistogram() : undefined;
    this.connect = options.connect ? createHistogram() : undefined;
    this.mix = new Float64Array(Math.max(1, options.mix));
  }

  /**
   * Count an error, keeping its sample while fewer than three distinct ones are kept.
   *
   * @param kind Its kind.
   * @param sample A short description (the server's message, an escaped reply).
   */
  error(kind: ErrorKind, sample?: string): void {
    this.errors[kind]++;
    if (sample === undefined) return;
    const list = (this.samples[kind] ??= []);
    if (list.length < SAMPLES_PER_KIND && !list.includes(sample)) list.push(sample);
  }

  /**
   * Whether a sample of `kind` would still be kept (so callers can skip building one).
   *
   * @param kind The kind.
   * @returns True while fewer than three are kept.
   */
  wantsSample(kind: ErrorKind): boolean {
    return (this.samples[kind]?.length ?? 0) < SAMPLES_PER_KIND;
  }

  /** Start over (end of the warmup); samples are kept. */
  reset(): void {
    this.latency.reset();
    this.uncorrected?.reset();
    this.connect?.reset();
    this.requests = 0;
    this.errors = emptyErrorCounts();
    this.codes.fill(0);
    this.mix.fill(0);
    this.reconnects = 0;
    this.unfinished = 0;
  }

  /**
   * Non-zero status codes.
   *
   * @returns Counts by code, e.g. `{ "200": 1000 }`.
   */
  statusCodes(): Record<string, number> {
    const out: Record<string, number> = {};
    this.codes.forEach((n, code) => {
      if (n > 0) out[String(code)] = n;
    });
    return out;
  }
}
