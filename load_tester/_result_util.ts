/**
 * Small helpers of the result files (private): rounding, the error rate, ISO times and the
 * protocol fields in JSON order.
 *
 * @module
 */

import { statusClasses } from "./protocols/http.ts";
import type { MixEntry, ScenarioResult } from "./result.ts";

/** An ISO time from ms since the epoch. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Errors over attempts, rounded to 6 digits. */
export function errorRate(requests: number, errors: number): number {
  const attempts = requests + errors;
  return attempts === 0 ? 0 : round(errors / attempts, 6);
}

/** Round to `digits` decimals. */
export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Put the protocol fields (protocol, pipeline, mix, HTTP statuses, samples, unfinished) into a
 * result, in JSON order.
 *
 * @param result The result to complete.
 * @param shape The scenario's protocol and pipeline.
 * @param extra What the engine measured beyond the common fields.
 */
export function addProtocolFields(
  result: ScenarioResult,
  shape: { protocol?: string; pipeline?: number },
  extra: {
    mix: MixEntry[];
    codes: Record<string, number>;
    samples: Record<string, string[]>;
    reconnects: number;
    unfinished: number;
  },
): void {
  const protocol = shape.protocol ?? "echo";
  // Insert after `mode` so the JSON reads in order.
  const { name, mode, ...rest } = result;
  for (const key of Object.keys(result)) delete (result as unknown as Record<string, unknown>)[key];
  Object.assign(result, { name, mode, protocol, pipeline: shape.pipeline ?? 1 });
  if (protocol !== "echo") result.mix = extra.mix;
  if (protocol === "http") {
    result.http_status = statusClasses(extra.codes);
    result.http_codes = extra.codes;
    result.reconnects = extra.reconnects;
  }
  Object.assign(result, rest);
  if (Object.keys(extra.samples).length > 0) result.errors.samples = extra.samples;
  result.unfinished = extra.unfinished;
}
