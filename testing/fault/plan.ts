/**
 * The fault kinds, their default mix, and the seeded plan of a run (kind, stream, size and
 * delay per connection), so a failing run can be replayed from its seed.
 *
 * @module
 */

import { seededRandom } from "../random.ts";
import { KiB, MiB, TAPE_SIZE } from "./tape.ts";

/** The fault kinds a run mixes. */
export const FAULT_KINDS = [
  "normal",
  "half_close",
  "client_reset",
  "client_vanish",
  "upstream_reset",
  "upstream_silent",
  "slow_reader",
  "dead_port",
  "over_limit",
] as const;

/** One kind of connection in a run. */
export type FaultKind = typeof FAULT_KINDS[number];

/** Default share of each kind in a run (weights, not percentages). */
export const DEFAULT_MIX: Readonly<Record<FaultKind, number>> = {
  normal: 34,
  half_close: 10,
  client_reset: 8,
  client_vanish: 8,
  upstream_reset: 8,
  upstream_silent: 4,
  slow_reader: 8,
  dead_port: 8,
  over_limit: 12,
};

/** Defaults of a run (see `FaultRunOptions`). */
export const RUN_DEFAULTS = {
  connections: 2000,
  concurrency: 250,
  deadlineMs: 10_000,
  maxSize: 300 * KiB,
  stalledReaders: 16,
  /** What each stalled flood would send if nothing pushed back (kernel buffers take ~10 MiB). */
  stalledFloodBytes: 48 * MiB,
  settleMs: 10_000,
} as const;

/** One planned connection of the mixed phase. */
export interface Step {
  /** What the client does. */
  kind: FaultKind;
  /** Stream its payload is cut from. */
  seed: number;
  /** Payload bytes. */
  size: number;
  /** How long a slow reader waits before reading. */
  delayMs: number;
}

const MIN_DELAY_MS = 50;
const DELAY_SPREAD_MS = 250;

/** Size of a kind whose size does not follow the general draw, or undefined. */
function sizeOf(kind: FaultKind, rand: () => number): number | undefined {
  switch (kind) {
    case "client_reset":
      return 32 * KiB + Math.floor(rand() * 256 * KiB);
    case "client_vanish":
      return 64 * KiB + Math.floor(rand() * MiB);
    case "upstream_reset":
      return 1 + Math.floor(rand() * 64);
    case "slow_reader":
      return 256 * KiB + Math.floor(rand() * 768 * KiB);
    default:
      return undefined;
  }
}

/**
 * Plan the mixed phase: `count` steps, kinds drawn by weight (`over_limit` runs in its own
 * lane and is never planned here).
 *
 * @param count Connections.
 * @param mix Weight of each kind.
 * @param maxSize Largest normal/half-close payload.
 * @param seed Plan seed.
 * @returns The steps, in order.
 */
export function planRun(
  count: number,
  mix: Readonly<Record<FaultKind, number>>,
  maxSize: number,
  seed: number,
): Step[] {
  const rand = seededRandom(seed);
  const kinds = FAULT_KINDS.filter((k) => k !== "over_limit" && mix[k] > 0);
  const total = kinds.reduce((sum, k) => sum + mix[k], 0);
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    let r = rand() * total;
    let kind = kinds[kinds.length - 1]!;
    for (const k of kinds) {
      if ((r -= mix[k]) < 0) {
        kind = k;
        break;
      }
    }
    // Sizes: half log-uniform over 1 B .. maxSize (every order of magnitude), half uniform
    // (bulk transfers that grow the relay's buffers).
    const drawn = rand() < 0.5 ? Math.exp(rand() * Math.log(maxSize)) : rand() * maxSize;
    const general = Math.min(maxSize, Math.max(1, Math.floor(drawn)));
    const size = sizeOf(kind, rand) ?? general;
    steps.push({
      kind,
      seed: Math.floor(rand() * TAPE_SIZE),
      size,
      delayMs: MIN_DELAY_MS + Math.floor(rand() * DELAY_SPREAD_MS),
    });
  }
  return steps;
}
