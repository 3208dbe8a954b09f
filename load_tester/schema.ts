/**
 * The keys of `load_test.toml` and their flags: the seed's schema plus the new keys.
 *
 * @module
 */

import { type ConfigOf, ENGINE_FIELDS } from "@monkey/shared";
import { PROTOCOLS } from "./protocols/types.ts";

/** Load modes. */
export const MODES = ["pingpong", "churn"] as const;
/** A load mode: `pingpong` (the seed's) or `churn` (connect, one exchange, close). */
export type Mode = typeof MODES[number];
/** Output formats. */
export const FORMATS = ["table", "json", "csv", "markdown"] as const;
/** An output format. */
export type Format = typeof FORMATS[number];

/** The seed's defaults for single mode. */
export const DEFAULTS = {
  target_addr: "127.0.0.1:3000",
  connections: 10,
  duration_secs: 10,
  message_size: 1024,
  mode: "pingpong" as Mode,
  rate: 0,
  warmup_secs: 0,
} as const;

const MAX_CONNECTIONS = 100_000;
const MAX_DURATION_SECS = 86_400;
const MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
const MAX_RATE = 10_000_000;
const MAX_WORKERS = 256;
const MAX_PIPELINE = 4096;

/** Keys one scenario may set; unset keys fall back to the top level, then the defaults. */
const SCENARIO_FIELDS = {
  name: { type: "string", optional: true, description: "Scenario name" },
  connections: {
    type: "integer",
    optional: true,
    min: 1,
    max: MAX_CONNECTIONS,
    description: "Concurrent connections",
  },
  duration_secs: {
    type: "duration",
    optional: true,
    min: 0.001,
    max: MAX_DURATION_SECS,
    description: "Measured seconds",
  },
  message_size: {
    type: "size",
    optional: true,
    min: 1,
    max: MAX_MESSAGE_SIZE,
    description: "Bytes per request",
  },
  mode: { type: "enum", values: MODES, optional: true, description: "pingpong or churn" },
  rate: {
    type: "number",
    optional: true,
    min: 0,
    max: MAX_RATE,
    description: "Total requests/s (open loop); 0 = closed loop",
  },
  warmup_secs: {
    type: "duration",
    optional: true,
    min: 0,
    max: MAX_DURATION_SECS,
    description: "Unmeasured seconds before the measurement",
  },
  protocol: {
    type: "enum",
    values: PROTOCOLS,
    optional: true,
    description: "echo (every byte verified), redis, http or raw (default echo)",
  },
  pipeline: {
    type: "integer",
    optional: true,
    min: 1,
    max: MAX_PIPELINE,
    description: "Requests in flight per connection (redis, http, raw) (default 1)",
  },
  command: {
    type: "strings",
    description:
      "redis: a command, templates allowed ('SET k:{{rand:1000}} {{bytes:64}}'); repeat to rotate",
  },
  request: {
    type: "strings",
    description: "http: 'METHOD /path' (default 'GET /'); repeat to rotate",
  },
  send: {
    type: "string",
    optional: true,
    description:
      "raw: the request, with escapes (\\r \\n \\xNN) and {{conn}} {{seq}} {{rand:N}} {{bytes:N}}",
  },
  expect: {
    type: "string",
    optional: true,
    description:
      "raw: reply end and check: bytes:N, line, until:TEXT, exact:TEXT, prefix:TEXT, regex:RE",
  },
} as const;

/**
 * Keys of `load_test.toml`; each is also a flag. Keys a scenario can override have no schema
 * default, so "not given" can be told apart from "given the default value".
 */
export const LOAD_TEST_SCHEMA = {
  target_addr: {
    type: "address",
    optional: true,
    aliases: ["target"],
    description: `Address to load, host:port (default "${DEFAULTS.target_addr}")`,
  },
  connections: {
    ...SCENARIO_FIELDS.connections,
    short: "c",
    description: `Concurrent connections (default ${DEFAULTS.connections})`,
  },
  duration_secs: {
    ...SCENARIO_FIELDS.duration_secs,
    flag: "duration",
    aliases: ["duration-secs"],
    short: "d",
    description: `Measured duration: seconds, or 10s, 2m (default ${DEFAULTS.duration_secs})`,
  },
  message_size: {
    ...SCENARIO_FIELDS.message_size,
    flag: "size",
    aliases: ["message-size"],
    short: "s",
    description: `Bytes per request: a number, or 1KiB, 64KiB (default ${DEFAULTS.message_size})`,
  },
  mode: {
    ...SCENARIO_FIELDS.mode,
    description:
      "pingpong (write, wait for the echo) or churn (connect, exchange, close) (default pingpong)",
  },
  rate: {
    ...SCENARIO_FIELDS.rate,
    description:
      "Total requests/s, open loop (latency from the intended send time); 0 = closed loop (default 0)",
  },
  warmup_secs: {
    ...SCENARIO_FIELDS.warmup_secs,
    flag: "warmup",
    aliases: ["warmup-secs"],
    description: "Seconds of load before measuring (default 0)",
  },
  protocol: SCENARIO_FIELDS.protocol,
  pipeline: SCENARIO_FIELDS.pipeline,
  command: SCENARIO_FIELDS.command,
  request: SCENARIO_FIELDS.request,
  header: {
    type: "strings",
    description: "http: an extra 'Name: value' header; repeatable",
  },
  body: { type: "string", optional: true, description: "http: the request body" },
  body_file: {
    type: "string",
    optional: true,
    description: "http: read the request body from a file",
  },
  send: SCENARIO_FIELDS.send,
  send_file: {
    type: "string",
    optional: true,
    description: "raw: send this file's bytes (no templates) as the request",
  },
  first_send: {
    type: "string",
    optional: true,
    description: "redis, raw: sent once per connection, its reply checked too (e.g. 'AUTH secret')",
  },
  expect: SCENARIO_FIELDS.expect,
  expect_end: {
    type: "string",
    default: "line",
    description: "raw: where a prefix:/regex: reply ends: line, until:TEXT or bytes:N",
  },
  expect_status: {
    type: "string",
    default: "2xx,3xx",
    description: "http: accepted statuses; others are errors of kind http_status",
  },
  scenario: { type: "string", optional: true, description: "Run only the scenario with this name" },
  shard: {
    type: "string",
    optional: true,
    description:
      "Run shard I of N (0-based: 0..N-1) of every scenario: I/N, or auto/N (I = JOB_COMPLETION_INDEX)",
  },
  start_at: {
    type: "string",
    optional: true,
    description: "Start measuring at this instant: ISO 8601 (2026-11-28T10:00:00Z) or +30s",
  },
  workers: {
    type: "integer",
    default: 1,
    min: 1,
    max: MAX_WORKERS,
    description: "Deno Workers the connections are spread over",
  },
  format: {
    type: "enum",
    values: FORMATS,
    default: "table",
    description: "Report format: table, json, csv or markdown",
  },
  out: {
    type: "string",
    optional: true,
    description: "Write the report to this file instead of stdout",
  },
  report: {
    type: "string",
    optional: true,
    description: "Also write a self-contained HTML report (latency plots) to this file",
  },
  baseline: {
    type: "string",
    optional: true,
    description: "A previous --format json result to compare with",
  },
  fail_on_regression: {
    type: "number",
    optional: true,
    min: 0,
    max: 1_000_000,
    description: "With --baseline: exit 1 when RPS fell or p99 rose by more than this %",
  },
  metrics_addr: {
    type: "address",
    allowOff: true,
    default: "off",
    aliases: ["metrics"],
    description: "Serve live counters and latency on this host:port, or 'off'",
  },
  ...ENGINE_FIELDS,
  tls: {
    type: "boolean",
    default: false,
    description: "Speak TLS to the target (runs on the deno engine; certificate verified)",
  },
  tls_ca: {
    type: "string",
    optional: true,
    description: "With --tls: PEM CA certificate(s) trusted besides the system roots",
  },
  tls_server_name: {
    type: "string",
    optional: true,
    description: "With --tls: server name sent (SNI) and verified; default: the target's host",
  },
  tls_insecure: {
    type: "boolean",
    default: false,
    description: "With --tls: do not verify the certificate (self-signed labs only)",
  },
  timeout_secs: {
    type: "duration",
    default: 5,
    min: 0.001,
    max: 3600,
    flag: "timeout",
    description: "Connect timeout and the longest a request may wait for its echo",
  },
  find_capacity: {
    type: "boolean",
    default: false,
    description: "Search the highest open-loop rate meeting --slo with zero errors",
  },
  slo: {
    type: "string",
    default: "p99<10ms",
    description:
      "Latency objective for --find-capacity, e.g. p99<10ms (default: holds reproducibly on loopback), p999<50ms",
  },
  progress: {
    type: "boolean",
    default: true,
    description: "Print a live progress line per scenario on stderr",
  },
  scenarios: {
    type: "tables",
    fields: SCENARIO_FIELDS,
    flag: false,
    description: "Matrix scenarios ([[scenarios]])",
  },
} as const;

/** The validated file + flags. */
export type LoadTestConfig = ConfigOf<typeof LOAD_TEST_SCHEMA>;
