/**
 * Building scenario results from chosen samples, for report, merge and baseline tests.
 *
 * @module
 */

import { emptyErrorCounts } from "./errors.ts";
import { createHistogram, recordMicros } from "./histogram.ts";
import { buildResult, type RunReport, type ScenarioResult } from "./result.ts";

/**
 * A scenario result with the given latency samples over `duration` seconds.
 *
 * @param name Scenario name.
 * @param samples Latencies in µs (one per request).
 * @param options Duration, connections, errors.
 * @returns The result.
 */
export function fakeResult(
  name: string,
  samples: readonly number[],
  options: { duration?: number; connections?: number; mismatches?: number } = {},
): ScenarioResult {
  const latency = createHistogram();
  for (const v of samples) recordMicros(latency, v);
  const errors = emptyErrorCounts();
  errors.mismatch = options.mismatches ?? 0;
  return buildResult(
    { name, mode: "pingpong", connections: options.connections ?? 10, message_size: 1024, rate: 0 },
    {
      requests: samples.length,
      errors,
      duration_secs: options.duration ?? 1,
      latency,
      uncorrected: undefined,
      connect: undefined,
      bytes_up: samples.length * 1024,
      bytes_down: samples.length * 1024,
    },
  );
}

/**
 * A run report holding `scenarios`.
 *
 * @param scenarios Results.
 * @returns The report.
 */
export function fakeReport(scenarios: ScenarioResult[]): RunReport {
  return {
    target: "127.0.0.1:3000",
    started_at: "2026-01-01T00:00:00.000Z",
    tool_version: "0.1.0",
    machine: { cpus: 2, os: "linux x86_64", deno: "2.9.6" },
    scenarios,
  };
}
