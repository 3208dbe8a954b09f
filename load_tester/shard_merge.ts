/**
 * Merging the JSON results of shards (`merge` after `--shard I/N` runs): refusing shards of
 * different scenarios or the same shard twice, naming missing shards, warning when the
 * shards' measurement windows differ, and per-shard rows for the report.
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import type { RunReport, ScenarioResult } from "./result.ts";
import { mergeReports } from "./result_merge.ts";
import type { Shard, ShardRow } from "./shard.ts";

/** Windows may differ by this fraction of the duration before `merge` warns. */
export const WINDOW_TOLERANCE = 0.01;

/** What {@linkcode mergeShards} returns. */
export interface ShardMerge {
  /** The merged report (scenarios carry `shards` rows when the inputs were shards). */
  report: RunReport;
  /** Warnings: missing shards, windows that differ. */
  warnings: string[];
}

/**
 * Merge the results of several runs; when they are shards (`--shard`), check they are the
 * shards of one run first.
 *
 * @param files The files, for messages.
 * @param reports Their parsed contents, in the same order.
 * @returns The merged report and warnings.
 * @throws {ConfigError} When some inputs are shards and some not, shard counts differ, a
 *   shard index is outside 0..N-1, one shard is given twice, or the shards ran different
 *   scenarios.
 * @example
 * ```ts
 * const { report, warnings } = mergeShards(["a.json", "b.json"], [a, b]);
 * ```
 */
export function mergeShards(files: readonly string[], reports: readonly RunReport[]): ShardMerge {
  const sharded = reports.map((r) => r.shard !== undefined);
  if (!sharded.some(Boolean)) return { report: mergeReports(reports), warnings: [] };
  const plain = sharded.indexOf(false);
  if (plain >= 0) {
    throw new ConfigError(
      `Cannot merge ${files[plain]}: it is not a --shard result while ${
        files[sharded.indexOf(true)]
      } is, got a mix of whole and sharded runs`,
    );
  }
  const count = reports[0]!.shard!.count;
  const seen = new Map<number, string>();
  const identity = scenarioIdentity(reports[0]!);
  reports.forEach((report, i) => {
    const file = files[i]!;
    const shard = report.shard!;
    if (shard.count !== count) {
      throw new ConfigError(
        `Cannot merge ${file}: it is shard ${shard.index}/${shard.count} but ${files[0]} is of ` +
          `${count} shards, got shard counts ${count} and ${shard.count}`,
      );
    }
    if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= count) {
      throw new ConfigError(
        `Cannot merge ${file}: shard indexes are 0..${count - 1} (0-based) for ${count} ` +
          `shards, got shard ${shard.index}/${count}`,
      );
    }
    const earlier = seen.get(shard.index);
    if (earlier !== undefined) {
      throw new ConfigError(
        `Cannot merge ${file}: shard ${shard.index}/${count} is already given by ${earlier}; ` +
          `merging it would count it twice, got shard ${shard.index} twice`,
      );
    }
    seen.set(shard.index, file);
    const other = scenarioIdentity(report);
    if (other !== identity) {
      throw new ConfigError(
        `Cannot merge ${file}: its scenarios differ from ${files[0]}'s (shards of different ` +
          `scenarios), got '${other}' against '${identity}'`,
      );
    }
  });
  const warnings: string[] = [];
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0) {
    warnings.push(
      `missing shards ${missing.map((i) => `${i}/${count}`).join(", ")} (merged ${seen.size} ` +
        `of ${count}): the merged result is not the whole scenario`,
    );
  }
  const report = mergeReports(reports);
  for (const merged of report.scenarios) {
    const parts = reports.flatMap((r) => r.scenarios.filter((s) => s.name === merged.name));
    const window = windowSpread(parts);
    if (window !== undefined) warnings.push(`scenario ${merged.name}: ${window}`);
    const rows = reports.flatMap((r) =>
      r.scenarios.filter((s) => s.name === merged.name).map((s) => shardRow(s, r.shard!))
    );
    merged.shards = rows.sort((a, b) => a.index - b.index);
    if (missing.length === 0) merged.target_rate = parts[0]?.shard?.totals.rate ?? 0;
  }
  return { report, warnings };
}

/** A shard's row; its index and count are the run's (`shard` of the report, 0-based). */
function shardRow(result: ScenarioResult, shard: Shard): ShardRow {
  return {
    index: shard.index,
    count: shard.count,
    duration_secs: result.duration_secs,
    connections: result.connections,
    requests: result.requests,
    rps: result.rps,
    p50_us: result.latency_us.p50,
    p95_us: result.latency_us.p95,
    p99_us: result.latency_us.p99,
    p999_us: result.latency_us.p999,
    max_us: result.latency_us.max,
    errors: result.errors.total,
    window_start: result.shard?.window.start ?? "",
  };
}

/** What makes two shards part of one run: each scenario's shape and totals. */
function scenarioIdentity(report: RunReport): string {
  return report.scenarios.map((s) =>
    [
      s.name,
      s.mode,
      s.protocol ?? "echo",
      s.message_size,
      s.shard?.totals.connections,
      s.shard?.totals.rate,
    ].join(":")
  ).join(",");
}

/** A warning when the shards' measurement windows differ by more than 1% of the duration. */
function windowSpread(parts: readonly ScenarioResult[]): string | undefined {
  const ran = parts.filter((p) => p.connections > 0 && p.shard !== undefined);
  if (ran.length < 2) return undefined;
  const starts = ran.map((p) => Date.parse(p.shard!.window.start));
  const ends = ran.map((p) => Date.parse(p.shard!.window.end));
  const duration = Math.max(...ran.map((p) => p.duration_secs)) * 1000;
  const spread = Math.max(
    Math.max(...starts) - Math.min(...starts),
    Math.max(...ends) - Math.min(...ends),
  );
  if (spread <= duration * WINDOW_TOLERANCE) return undefined;
  return `shards' measurement windows differ by ${Math.round(spread)} ms, more than ` +
    `${WINDOW_TOLERANCE * 100}% of the ${duration / 1000}s duration (start them with --start-at)`;
}
