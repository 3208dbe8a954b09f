/**
 * The rise/fall state machine shared by active checks and failed connects.
 *
 * @module
 */

/** Consecutive results needed to change state. */
export interface HealthPolicy {
  /** Successes that bring a down backend up. */
  rise: number;
  /** Failures that take an up backend down. */
  fall: number;
}

/** The counters {@linkcode recordResult} moves. */
export interface HealthCounters {
  /** Up or down. */
  healthy: boolean;
  /** Failures in a row while up. */
  consecutiveFailures: number;
  /** Successes in a row while down. */
  consecutiveSuccesses: number;
}

/**
 * Record one check (or connect) result. An up backend goes down after `fall` failures in a
 * row; a down one comes up after `rise` successes in a row.
 *
 * @param target The counters to move.
 * @param ok Whether the check passed.
 * @param policy Rise and fall.
 * @returns `"up"` or `"down"` when the state changed, else undefined.
 * @example
 * ```ts
 * const b = { healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 0 };
 * recordResult(b, false, { rise: 2, fall: 1 }); // "down"
 * ```
 */
export function recordResult(
  target: HealthCounters,
  ok: boolean,
  policy: HealthPolicy,
): "up" | "down" | undefined {
  if (target.healthy) {
    if (ok) {
      target.consecutiveFailures = 0;
      return undefined;
    }
    target.consecutiveFailures++;
    if (target.consecutiveFailures < policy.fall) return undefined;
    target.healthy = false;
    target.consecutiveSuccesses = 0;
    return "down";
  }
  if (!ok) {
    target.consecutiveSuccesses = 0;
    return undefined;
  }
  target.consecutiveSuccesses++;
  if (target.consecutiveSuccesses < policy.rise) return undefined;
  target.healthy = true;
  target.consecutiveFailures = 0;
  return "up";
}
