/**
 * Service level objectives for `--find-capacity`: a percentile under a latency.
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";

/** A service level objective: a percentile under a latency. */
export interface Slo {
  /** Percentile, e.g. 99 or 99.9. */
  percentile: number;
  /** Key of the latency summary, e.g. `p99`. */
  key: "p50" | "p90" | "p95" | "p99" | "p999" | "max";
  /** Limit in microseconds. */
  limitUs: number;
  /** The text it was parsed from. */
  text: string;
}

const SLO_KEYS: Record<string, Slo["key"]> = {
  p50: "p50",
  p90: "p90",
  p95: "p95",
  p99: "p99",
  "p99.9": "p999",
  p999: "p999",
  max: "max",
};
const SLO_PERCENTILES: Record<Slo["key"], number> = {
  p50: 50,
  p90: 90,
  p95: 95,
  p99: 99,
  p999: 99.9,
  max: 100,
};
const TIME_UNITS_US: Record<string, number> = { us: 1, "µs": 1, ms: 1000, s: 1_000_000 };

/**
 * Parse an SLO such as `p99<2ms`, `p99.9<500us`, `p50<1s`.
 *
 * @param text The objective.
 * @param origin Where it came from, for the error message.
 * @returns The parsed objective.
 * @throws {ConfigError} When the text is not an objective.
 */
export function parseSlo(text: string, origin = "flag --slo"): Slo {
  const match = /^\s*(p50|p90|p95|p99\.9|p999|p99|max)\s*<\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)\s*$/i
    .exec(text);
  if (!match) {
    throw new ConfigError(
      `Cannot parse ${origin}: expected a percentile under a latency like p99<2ms, got '${text}'`,
    );
  }
  const key = SLO_KEYS[match[1]!.toLowerCase()]!;
  return {
    key,
    percentile: SLO_PERCENTILES[key],
    limitUs: Number(match[2]) * TIME_UNITS_US[match[3]!.toLowerCase()]!,
    text: text.trim(),
  };
}
