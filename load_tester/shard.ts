/**
 * Splitting one scenario across machines: `--shard I/N` parsing (with `auto/N` reading the
 * Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`) and the exact split of connections and rate.
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import type { Scenario } from "./config.ts";

/** Which part of every scenario this process runs: shard `index` (0-based) of `count`. */
export interface Shard {
  /** This shard, 0..count-1. */
  index: number;
  /** How many shards the scenario is split into. */
  count: number;
}

/** The whole scenario a shard is part of (what the shards add up to). */
export interface ShardTotals {
  /** Connections of the whole scenario. */
  connections: number;
  /** Requests/s of the whole scenario (0: closed loop). */
  rate: number;
}

/** The environment variable a Kubernetes Indexed Job sets to the pod's index (0-based). */
export const JOB_INDEX_VARIABLE = "JOB_COMPLETION_INDEX";

const MAX_SHARDS = 10_000;
const SHARD_PATTERN = /^(auto|\d+)\/(\d+)$/;

/**
 * Parse `--shard I/N` (0-based I, like a Kubernetes Indexed Job's index) or `auto/N`
 * (I = `JOB_COMPLETION_INDEX`).
 *
 * @param spec The flag's value.
 * @param getEnv Reads an environment variable. @default Deno.env.get
 * @returns The shard.
 * @throws {ConfigError} On a malformed spec, I outside 0..N-1, N outside 1..10000, or `auto`
 *   without a valid `JOB_COMPLETION_INDEX`.
 * @example
 * ```ts
 * parseShard("0/3"); // { index: 0, count: 3 }: the first of three
 * parseShard("auto/3", () => "2"); // { index: 2, count: 3 }: the last
 * ```
 */
export function parseShard(
  spec: string,
  getEnv: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Shard {
  const m = SHARD_PATTERN.exec(spec.trim());
  const bad = (why: string) => new ConfigError(`Cannot parse flag --shard: ${why}, got '${spec}'`);
  if (!m) throw bad("expected I/N (shard I of N, 0-based) or auto/N");
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw bad(`N must be 1..${MAX_SHARDS}`);
  if (m[1] === "auto") {
    const raw = getEnv(JOB_INDEX_VARIABLE);
    if (raw === undefined || raw === "") {
      throw new ConfigError(
        `Cannot parse flag --shard: auto/${count} needs ${JOB_INDEX_VARIABLE} (set by a ` +
          `Kubernetes Indexed Job), got it unset`,
      );
    }
    const k = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(k >= 0 && k < count)) {
      throw new ConfigError(
        `Cannot parse flag --shard: ${JOB_INDEX_VARIABLE} must be 0..${count - 1} for ` +
          `auto/${count}, got '${raw}'`,
      );
    }
    return { index: k, count };
  }
  const index = Number(m[1]);
  if (index >= count) {
    throw bad(`I must be 0..${count - 1} for N = ${count} (0-based, like ${JOB_INDEX_VARIABLE})`);
  }
  return { index, count };
}

/**
 * This shard's part of a scenario. Connections are split as evenly as possible, the
 * remainder going to the first shards; the rate is split the same way over the shards that
 * have connections (its fraction, if any, to the first). The N parts add up exactly. Shard
 * indexes are 0-based: shard 0 is the first.
 *
 * @param scenario The whole scenario.
 * @param shard Which part.
 * @returns The part (its `connections` may be 0: that shard runs nothing) and the totals.
 * @example
 * ```ts
 * // 10 connections over 3 shards 0, 1, 2: 4, 3, 3.
 * const { scenario } = shardScenario(
 *   { name: "x", mode: "pingpong", connections: 10, duration_secs: 1, message_size: 64, rate: 0, warmup_secs: 0 },
 *   { index: 0, count: 3 },
 * );
 * ```
 */
export function shardScenario(
  scenario: Scenario,
  shard: Shard,
): { scenario: Scenario; totals: ShardTotals } {
  const i = shard.index;
  const connections = evenPart(scenario.connections, shard.count, i);
  const active = Math.min(shard.count, scenario.connections);
  const whole = Math.floor(scenario.rate);
  const fraction = scenario.rate - whole;
  const rate = i < active ? evenPart(whole, active, i) + (i === 0 ? fraction : 0) : 0;
  return {
    scenario: { ...scenario, connections, rate },
    totals: { connections: scenario.connections, rate: scenario.rate },
  };
}

/** Part `i` of `total` split over `parts`, remainder over the first parts. */
function evenPart(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

/** What a shard's scenario result records (`shard` in the JSON). */
export interface ShardRecord extends Shard {
  /** The whole scenario: what the shards add up to. */
  totals: ShardTotals;
  /** Wall-clock measurement window, ISO times (end minus the measured duration, end). */
  window: { start: string; end: string };
}

/** One shard's row in a merged result (`shards` in the JSON). */
export interface ShardRow {
  /** Shard index, 0-based. */
  index: number;
  /** How many shards the scenario was split into. */
  count: number;
  /** Its measured seconds. */
  duration_secs: number;
  /** Its connections. */
  connections: number;
  /** Its requests. */
  requests: number;
  /** Its requests/s. */
  rps: number;
  /** Its p50, µs. */
  p50_us: number;
  /** Its p95, µs. */
  p95_us: number;
  /** Its p99, µs. */
  p99_us: number;
  /** Its p99.9, µs. */
  p999_us: number;
  /** Its slowest request, µs. */
  max_us: number;
  /** Its errors. */
  errors: number;
  /** Its window start, ISO. */
  window_start: string;
}
