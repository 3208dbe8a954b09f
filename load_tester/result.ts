/**
 * Scenario results as written to JSON, built from engine measurements, and merged exactly
 * (histograms added, rates summed) across workers or machines.
 *
 * @module
 */

import type { Mode } from "./config.ts";
import type { EngineResult } from "./engine.ts";
import { addErrorCounts, totalErrors } from "./errors.ts";
import { SAMPLES_PER_KIND } from "./meter.ts";
import { statusClasses } from "./protocols/http.ts";
import {
  decodeHistogram,
  encodeHistogram,
  type LatencyHistogram,
  type LatencySummary,
  mergeHistograms,
  summarize,
} from "./histogram.ts";
import { mergeSeries, type SecondSample } from "./series.ts";
import type { Shard, ShardRecord, ShardRow } from "./shard.ts";

/** This tool's version, written to JSON results. */
export const TOOL_VERSION = "0.1.0";

/** Errors of one scenario. */
export interface ErrorSummary {
  /** All errors. */
  total: number;
  /** Errors per kind (kinds with zero count included). */
  by_kind: Record<string, number>;
  /** Up to three samples per kind (the server's message, an escaped reply). */
  samples?: Record<string, string[]>;
}

/** One entry of the command / request mix. */
export interface MixEntry {
  /** The command or request as given. */
  request: string;
  /** Completed requests. */
  requests: number;
}

/** One scenario's result, as in the JSON output. */
export interface ScenarioResult {
  /** Scenario name. */
  name: string;
  /** Load mode. */
  mode: Mode;
  /** Protocol: echo, redis, http or raw (absent in older results: echo). */
  protocol?: string;
  /** Requests in flight per connection. */
  pipeline?: number;
  /** Commands / requests and how many of each completed (not echo). */
  mix?: MixEntry[];
  /** http: responses by status class (`2xx`). */
  http_status?: Record<string, number>;
  /** http: responses by status code. */
  http_codes?: Record<string, number>;
  /** http: connections re-opened after the server closed them between responses. */
  reconnects?: number;
  /** Requests still in flight at the end, younger than the timeout (not errors). */
  unfinished?: number;
  /** Connections (summed over merged results). */
  connections: number;
  /** Bytes per request. */
  message_size: number;
  /** Measured seconds (the longest of merged results). */
  duration_secs: number;
  /** Target requests/s in open loop; 0 for closed loop. */
  target_rate: number;
  /** Requests completed and verified. */
  requests: number;
  /** Requests per second (summed over merged results). In churn: connections per second. */
  rps: number;
  /** Payload bytes per second sent. */
  throughput_up_bps: number;
  /** Payload bytes per second received. */
  throughput_down_bps: number;
  /** Latency in µs (open loop: from the intended send time). */
  latency_us: LatencySummary;
  /** Errors. */
  errors: ErrorSummary;
  /** errors / (requests + errors). */
  error_rate: number;
  /** The latency histogram, HdrHistogram compressed base64. */
  histogram: string;
  /** Open loop: latency from the actual send time (uncorrected for coordinated omission). */
  uncorrected_latency_us?: LatencySummary;
  /** Open loop: the uncorrected histogram. */
  uncorrected_histogram?: string;
  /** Churn: connect latency in µs. */
  connect_latency_us?: LatencySummary;
  /** Churn: the connect latency histogram. */
  connect_histogram?: string;
  /** Requests, errors and latency percentiles per second of the run (for the HTML report). */
  series?: SecondSample[];
  /** A shard's result (`--shard`): which shard, the scenario's totals, its wall-clock window. */
  shard?: ShardRecord;
  /** Merged shards: one row per shard. */
  shards?: ShardRow[];
}

/** The machine a run happened on. */
export interface MachineInfo {
  /** Logical CPUs. */
  cpus: number;
  /** Operating system. */
  os: string;
  /** Deno version. */
  deno: string;
}

/** A whole run, the `--format json` document. */
export interface RunReport {
  /** Target address. */
  target: string;
  /** ISO time the run started. */
  started_at: string;
  /** Load tester version. */
  tool_version: string;
  /** Where it ran (for merged results: the first file's). */
  machine: MachineInfo;
  /** One entry per scenario (with `--find-capacity`: one per step). */
  scenarios: ScenarioResult[];
  /** With `--find-capacity`: one search per scenario. */
  capacity?: CapacityEntry[];
  /** `--shard`: the shard this run was. */
  shard?: Shard;
  /** `--start-at`: the planned and the actual start of the first measurement (ISO). */
  start?: { planned: string; actual: string };
}

/** One capacity search in the JSON output. */
export interface CapacityEntry {
  /** Scenario searched. */
  scenario: string;
  /** The objective, e.g. `p99<2ms`. */
  slo: string;
  /** Highest rate that held, 0 when none did. */
  capacity_rps: number;
  /** The steps in order (each step's full result is in `scenarios`). */
  steps: {
    /** Rate asked for. */
    rate: number;
    /** Rate achieved. */
    rps: number;
    /** The SLO's percentile, µs. */
    latency_us: number;
    /** Errors. */
    errors: number;
    /** Whether the step held. */
    ok: boolean;
    /** Why not. */
    reason: string;
  }[];
}

/** What a result is built from. */
export interface ScenarioShape {
  /** Name. */
  name: string;
  /** Mode. */
  mode: Mode;
  /** Protocol. @default "echo" */
  protocol?: string;
  /** Requests in flight per connection. @default 1 */
  pipeline?: number;
  /** Connections. */
  connections: number;
  /** Bytes per request. */
  message_size: number;
  /** Target rate, 0 for closed loop. */
  rate: number;
}

/**
 * Build a scenario result from one engine's measurement.
 *
 * @param scenario Name, mode, connections, size and target rate.
 * @param measured What the engine measured.
 * @returns The result.
 */
export function buildResult(scenario: ScenarioShape, measured: EngineResult): ScenarioResult {
  const duration = measured.duration_secs;
  const perSec = (n: number) => (duration > 0 ? n / duration : 0);
  const errors = totalErrors(measured.errors);
  const result: ScenarioResult = {
    name: scenario.name,
    mode: scenario.mode,
    connections: scenario.connections,
    message_size: scenario.message_size,
    duration_secs: round(duration, 3),
    target_rate: scenario.rate,
    requests: measured.requests,
    rps: round(perSec(measured.requests), 1),
    throughput_up_bps: Math.round(perSec(measured.bytes_up)),
    throughput_down_bps: Math.round(perSec(measured.bytes_down)),
    latency_us: summarize(measured.latency),
    errors: { total: errors, by_kind: { ...measured.errors } },
    error_rate: errorRate(measured.requests, errors),
    histogram: encodeHistogram(measured.latency),
  };
  addProtocolFields(result, scenario, {
    mix: measured.mix,
    codes: measured.status_codes,
    samples: measured.samples,
    reconnects: measured.reconnects,
    unfinished: measured.unfinished,
  });
  if (measured.uncorrected) {
    result.uncorrected_latency_us = summarize(measured.uncorrected);
    result.uncorrected_histogram = encodeHistogram(measured.uncorrected);
  }
  if (measured.connect) {
    result.connect_latency_us = summarize(measured.connect);
    result.connect_histogram = encodeHistogram(measured.connect);
  }
  return result;
}

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

/**
 * Decode a result's latency histogram.
 *
 * @param result A scenario result.
 * @returns Its histogram.
 */
export function resultHistogram(result: ScenarioResult): LatencyHistogram {
  return decodeHistogram(result.histogram);
}

/**
 * Describe this machine for the JSON output.
 *
 * @returns CPUs, OS and Deno version.
 */
export function machineInfo(): MachineInfo {
  return {
    cpus: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
  };
}

function addProtocolFields(
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

function mergeEncoded(encoded: readonly string[]): LatencyHistogram {
  return mergeHistograms(encoded.map(decodeHistogram));
}

function errorRate(requests: number, errors: number): number {
  const attempts = requests + errors;
  return attempts === 0 ? 0 : round(errors / attempts, 6);
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
