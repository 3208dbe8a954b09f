/**
 * Scenario results as written to JSON, built from engine measurements (merged exactly across
 * workers or machines in `result_merge.ts`).
 *
 * @module
 */

import type { Mode } from "./config.ts";
import type { EngineResult } from "./engine.ts";
import { totalErrors } from "./errors.ts";
import {
  decodeHistogram,
  encodeHistogram,
  type LatencyHistogram,
  type LatencySummary,
  summarize,
} from "./histogram.ts";
import type { SecondSample } from "./series.ts";
import type { Shard, ShardRecord, ShardRow } from "./shard.ts";
import { addProtocolFields, errorRate, iso, round } from "./_result_util.ts";

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
  /** The measured wall-clock window, ISO times (merged: the earliest start, the latest end). */
  window?: { start: string; end: string };
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
  steps: CapacityStepSummary[];
}

/** One step of a capacity search, as the JSON output lists it. */
export interface CapacityStepSummary {
  /** Rate asked for, requests/s. */
  rate: number;
  /** Rate achieved. */
  rps: number;
  /** The SLO's percentile at this rate, µs. */
  latency_us: number;
  /** Errors. */
  errors: number;
  /** True when the SLO held with zero errors and the rate was achieved. */
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason: string;
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
  const w = measured.window_ms;
  if (w) result.window = { start: iso(w.start), end: iso(w.end) };
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

/**
 * A run report with no scenarios yet, started now on this machine.
 *
 * @param target The target, `host:port`.
 * @returns The report to fill.
 */
export function newRunReport(target: string): RunReport {
  return {
    target,
    started_at: new Date().toISOString(),
    tool_version: TOOL_VERSION,
    machine: machineInfo(),
    scenarios: [],
  };
}
