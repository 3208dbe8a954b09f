/**
 * The latency estimate `least_latency` ranks backends by: a time-decayed average of connect +
 * first-byte time (nginx Plus `least_time first_byte`, Finagle's peak-EWMA family).
 *
 * - Samples are averaged by time, not by count: a sample's weight is `1 - e^(-dt/τ)` where
 *   `dt` is the time since the previous one, so a busy backend's single spike weighs almost
 *   nothing, and a sample after a long gap replaces the old value almost entirely.
 * - Read between samples, the estimate decays towards 0 (`e^(-idle/τ)`): a backend that no
 *   longer gets picked (a spike, a slow spell) looks better and better until it is tried
 *   again and measured, without any health check.
 *
 * @module
 */

/** Time constant of the average and of the idle decay, in ms. */
export const LATENCY_DECAY_MS = 500;

/**
 * A time-decayed latency average.
 *
 * @example
 * ```ts
 * const latency = new DecayingLatency();
 * latency.observe(20, performance.now());
 * latency.value(performance.now()); // about 20, falling towards 0 while no sample comes
 * ```
 */
export class DecayingLatency {
  #value: number | undefined;
  #at = 0;
  #tauMs: number;

  /**
   * An empty estimate.
   *
   * @param tauMs Time constant in ms. @default LATENCY_DECAY_MS
   */
  constructor(tauMs: number = LATENCY_DECAY_MS) {
    this.#tauMs = tauMs;
  }

  /**
   * Fold one sample in.
   *
   * @param ms The sample, in ms.
   * @param now `performance.now()`.
   */
  observe(ms: number, now: number): void {
    if (this.#value === undefined) {
      this.#value = ms;
    } else {
      const keep = Math.exp(-Math.max(0, now - this.#at) / this.#tauMs);
      this.#value = this.#value * keep + ms * (1 - keep);
    }
    this.#at = now;
  }

  /**
   * The estimate now: the average, decayed for the time since the last sample.
   *
   * @param now `performance.now()`.
   * @returns Milliseconds, or undefined before the first sample.
   */
  value(now: number): number | undefined {
    if (this.#value === undefined) return undefined;
    return this.#value * Math.exp(-Math.max(0, now - this.#at) / this.#tauMs);
  }
}
