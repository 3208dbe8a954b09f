/**
 * Merging results exactly: one scenario's results from several workers or machines
 * (histograms added, rates summed), and whole runs matched by scenario name.
 *
 * @module
 */

import { addErrorCounts, totalErrors } from "./errors.ts";
import {
  decodeHistogram,
  encodeHistogram,
  type LatencyHistogram,
  mergeHistograms,
  summarize,
} from "./histogram.ts";
import { type MixEntry, type RunReport, type ScenarioResult, TOOL_VERSION } from "./result.ts";
import { addProtocolFields, errorRate, iso, round } from "./_result_util.ts";
import { SAMPLES_PER_KIND } from "./meter.ts";
import { mergeSeries } from "./series.ts";

/**
 * Merge results of the same scenario from several workers or machines: histograms added
 * (exact percentiles of all samples), requests, errors, connections and rates summed,
 * duration the longest.
 *
 * @param results Results with the same name.
 * @returns The merged result.
 * @throws {Error} When `results` is empty or a histogram cannot be decoded.
 */
export function mergeResults(results: readonly ScenarioResult[]): ScenarioResult {
  const first = results[0];
  if (first === undefined) throw new Error("nothing to merge");
  if (results.length === 1) return first;
  const byKind: Record<string, number> = {};
  for (const r of results) addErrorCounts(byKind, r.errors.by_kind);
  const requests = sum(results, (r) => r.requests);
  const errors = totalErrors(byKind);
  const latency = mergeEncoded(results.map((r) => r.histogram));
  const merged: ScenarioResult = {
    name: first.name,
    mode: first.mode,
    connections: sum(results, (r) => r.connections),
    message_size: first.message_size,
    duration_secs: Math.max(...results.map((r) => r.duration_secs)),
    target_rate: sum(results, (r) => r.target_rate),
    requests,
    rps: round(sum(results, (r) => r.rps), 1),
    throughput_up_bps: sum(results, (r) => r.throughput_up_bps),
    throughput_down_bps: sum(results, (r) => r.throughput_down_bps),
    latency_us: summarize(latency),
    errors: { total: errors, by_kind: byKind },
    error_rate: errorRate(requests, errors),
    histogram: encodeHistogram(latency),
  };
  const windows = results.map((r) => r.window);
  if (windows.every((w) => w !== undefined)) {
    const ms = windows.flatMap((w) => [Date.parse(w.start), Date.parse(w.end)]);
    merged.window = { start: iso(Math.min(...ms)), end: iso(Math.max(...ms)) };
  }
  const samples: Record<string, string[]> = {};
  const codes: Record<string, number> = {};
  let mix: MixEntry[] | undefined;
  for (const r of results) {
    for (const [kind, list] of Object.entries(r.errors.samples ?? {})) {
      const into = (samples[kind] ??= []);
      for (const s of list) if (into.length < SAMPLES_PER_KIND && !into.includes(s)) into.push(s);
    }
    addErrorCounts(codes, r.http_codes ?? {});
    if (r.mix) {
      mix ??= r.mix.map((m) => ({ request: m.request, requests: 0 }));
      r.mix.forEach((m, i) => {
        if (mix![i]) mix![i]!.requests += m.requests;
      });
    }
  }
  addProtocolFields(merged, { protocol: first.protocol ?? "echo", pipeline: first.pipeline ?? 1 }, {
    mix: mix ?? [],
    codes,
    samples,
    reconnects: sum(results, (r) => r.reconnects ?? 0),
    unfinished: sum(results, (r) => r.unfinished ?? 0),
  });
  const uncorrected = results.map((r) => r.uncorrected_histogram);
  if (uncorrected.every((h) => h !== undefined)) {
    const h = mergeEncoded(uncorrected as string[]);
    merged.uncorrected_latency_us = summarize(h);
    merged.uncorrected_histogram = encodeHistogram(h);
  }
  const connect = results.map((r) => r.connect_histogram);
  if (connect.every((h) => h !== undefined)) {
    const h = mergeEncoded(connect as string[]);
    merged.connect_latency_us = summarize(h);
    merged.connect_histogram = encodeHistogram(h);
  }
  const series = mergeSeries(results.map((r) => r.series));
  if (series !== undefined) merged.series = series;
  return merged;
}

/**
 * Merge whole runs (e.g. the JSON of several machines loading one target at once): scenarios
 * are matched by name, in the first report's order.
 *
 * @param reports Parsed `--format json` documents.
 * @returns One report.
 * @throws {Error} When `reports` is empty.
 */
export function mergeReports(reports: readonly RunReport[]): RunReport {
  const first = reports[0];
  if (first === undefined) throw new Error("nothing to merge");
  const names: string[] = [];
  const groups = new Map<string, ScenarioResult[]>();
  for (const report of reports) {
    for (const scenario of report.scenarios) {
      let group = groups.get(scenario.name);
      if (group === undefined) {
        group = [];
        groups.set(scenario.name, group);
        names.push(scenario.name);
      }
      group.push(scenario);
    }
  }
  const targets = [...new Set(reports.map((r) => r.target))];
  const started = reports.map((r) => r.started_at).sort();
  return {
    target: targets.join(","),
    started_at: started[0] ?? first.started_at,
    tool_version: TOOL_VERSION,
    machine: first.machine,
    scenarios: names.map((name) => mergeResults(groups.get(name)!)),
  };
}

function mergeEncoded(encoded: readonly string[]): LatencyHistogram {
  return mergeHistograms(encoded.map(decodeHistogram));
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}
