/**
 * Comparing a run with a previous `--format json` result, and deciding regressions.
 *
 * @module
 */

import { ServiceError } from "@monkey/shared";
import type { RunReport, ScenarioResult } from "./result.ts";

/** One scenario's change against the baseline. */
export interface BaselineRow {
  /** Scenario name. */
  name: string;
  /** RPS now. */
  rps: number;
  /** RPS in the baseline. */
  baseline_rps: number;
  /** Change of RPS in percent (negative: slower). */
  rps_change_pct: number;
  /** p99 now, µs. */
  p99_us: number;
  /** p99 in the baseline, µs. */
  baseline_p99_us: number;
  /** Change of p99 in percent (positive: slower). */
  p99_change_pct: number;
}

/**
 * Compare scenarios with the baseline's scenarios of the same name.
 *
 * @param current This run's results.
 * @param baseline The previous run.
 * @returns One row per scenario present in both.
 */
export function compareWithBaseline(
  current: readonly ScenarioResult[],
  baseline: RunReport,
): BaselineRow[] {
  const previous = new Map(baseline.scenarios.map((s) => [s.name, s]));
  const rows: BaselineRow[] = [];
  for (const now of current) {
    const before = previous.get(now.name);
    if (before === undefined) continue;
    rows.push({
      name: now.name,
      rps: now.rps,
      baseline_rps: before.rps,
      rps_change_pct: change(now.rps, before.rps),
      p99_us: now.latency_us.p99,
      baseline_p99_us: before.latency_us.p99,
      p99_change_pct: change(now.latency_us.p99, before.latency_us.p99),
    });
  }
  return rows;
}

/**
 * Rows whose RPS fell or p99 rose by more than `thresholdPct`.
 *
 * @param rows Comparison rows.
 * @param thresholdPct Allowed change in percent.
 * @returns One line per regression (empty when none).
 */
export function regressions(rows: readonly BaselineRow[], thresholdPct: number): string[] {
  const out: string[] = [];
  for (const row of rows) {
    if (row.rps_change_pct < -thresholdPct) {
      out.push(
        `${row.name}: RPS fell ${(-row.rps_change_pct).toFixed(1)}% (${
          Math.round(row.baseline_rps)
        } -> ${Math.round(row.rps)}), more than ${thresholdPct}%`,
      );
    }
    if (row.p99_change_pct > thresholdPct) {
      out.push(
        `${row.name}: p99 rose ${
          row.p99_change_pct.toFixed(1)
        }% (${row.baseline_p99_us}µs -> ${row.p99_us}µs), more than ${thresholdPct}%`,
      );
    }
  }
  return out;
}

/**
 * Read and check a `--format json` result file.
 *
 * @param path The file.
 * @returns The parsed report.
 * @throws {ServiceError} When the file cannot be read or is not a load test result.
 */
export async function readReport(path: string): Promise<RunReport> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "not found" : firstLine(error);
    throw new ServiceError(`Cannot read result file ${path}: ${reason}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ServiceError(`Cannot parse result file ${path}: invalid JSON: ${firstLine(error)}`);
  }
  if (!isReport(data)) {
    throw new ServiceError(
      `Cannot parse result file ${path}: not a load test result (expected --format json output)`,
    );
  }
  return data;
}

function isReport(data: unknown): data is RunReport {
  if (typeof data !== "object" || data === null) return false;
  const scenarios = (data as { scenarios?: unknown }).scenarios;
  return Array.isArray(scenarios) &&
    scenarios.every((s) =>
      typeof s === "object" && s !== null && typeof s.name === "string" &&
      typeof s.rps === "number" && typeof s.histogram === "string" &&
      typeof s.latency_us?.p99 === "number" && typeof s.errors?.by_kind === "object"
    );
}

function change(now: number, before: number): number {
  if (before === 0) return now === 0 ? 0 : 100;
  return Math.round(((now - before) / before) * 1000) / 10;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}
