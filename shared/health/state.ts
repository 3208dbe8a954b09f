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
  // The streak that can change the state: failures while up, successes while down.
  const streak = target.healthy ? "consecutiveFailures" : "consecutiveSuccesses";
  const other = target.healthy ? "consecutiveSuccesses" : "consecutiveFailures";
  if (ok === target.healthy) {
    target[streak] = 0;
    return undefined;
  }
  target[streak]++;
  if (target[streak] < (target.healthy ? policy.fall : policy.rise)) return undefined;
  target.healthy = ok;
  target[other] = 0;
  return ok ? "up" : "down";
}
