/**
 * The start barrier: `--start-at TIME` (ISO 8601, or `+30s` from now) and waiting for that
 * wall-clock instant with a countdown, so shards on several machines measure the same window.
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import { parseDuration } from "@monkey/shared/config";

const RELATIVE = /^\+(.+)$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T/;
const TICK_MS = 1000;
/** Start times further away than this are refused as a likely mistake. */
const MAX_WAIT_MS = 24 * 3600 * 1000;

/**
 * Parse `--start-at`: an ISO 8601 time with a zone (`2026-11-28T10:00:00Z`) or `+DURATION`
 * from now (`+30s`, `+2m`).
 *
 * @param text The flag's value.
 * @param now The current time, ms since the epoch. @default Date.now()
 * @returns The instant, ms since the epoch.
 * @throws {ConfigError} When the time cannot be parsed or is more than a day away.
 * @example
 * ```ts
 * const at = parseStartAt("+30s");
 * ```
 */
export function parseStartAt(text: string, now: number = Date.now()): number {
  const bad = (why: string) =>
    new ConfigError(`Cannot parse flag --start-at: ${why}, got '${text}'`);
  let at: number;
  const rel = RELATIVE.exec(text.trim());
  if (rel) {
    const secs = parseDuration(rel[1]!);
    if (secs === undefined) throw bad("expected +DURATION like +30s or an ISO 8601 time");
    at = now + secs * 1000;
  } else {
    at = ISO_DATE.test(text.trim()) ? Date.parse(text.trim()) : NaN;
    if (Number.isNaN(at)) {
      throw bad("expected an ISO 8601 time like 2026-11-28T10:00:00Z or +30s");
    }
  }
  if (at - now > MAX_WAIT_MS) throw bad("it is more than a day away");
  return at;
}

/** Options for {@linkcode waitUntil}. */
export interface WaitOptions {
  /** Called about once a second with the whole seconds left. */
  onTick?: (secondsLeft: number) => void;
  /** Aborting ends the wait early (returns false). */
  signal?: AbortSignal;
}

/**
 * Sleep until a wall-clock instant (returns at once when it has passed).
 *
 * @param at The instant, ms since the epoch.
 * @param options Countdown callback and abort signal.
 * @returns True when the instant was reached, false when aborted.
 * @example
 * ```ts
 * await waitUntil(Date.now() + 100, { onTick: (s) => console.log(`starting in ${s}s`) });
 * ```
 */
export async function waitUntil(at: number, options: WaitOptions = {}): Promise<boolean> {
  const { signal } = options;
  while (!signal?.aborted) {
    const left = at - Date.now();
    if (left <= 0) return true;
    options.onTick?.(Math.ceil(left / 1000));
    const step = left > TICK_MS ? left % TICK_MS || TICK_MS : left;
    await sleep(step, signal);
  }
  return false;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
