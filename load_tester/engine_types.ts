/**
 * What a `LoadEngine` runs and what it reports.
 *
 * @module
 */

import type { EngineChoice } from "@monkey/shared";
import type { Mode } from "./schema.ts";
import type { ErrorCounts } from "./errors.ts";
import type { LatencyHistogram } from "./histogram.ts";
import type { ProtocolSpec } from "./protocols/types.ts";
import type { ClientTlsSettings } from "./client_tls.ts";

/** What one engine runs. */
export interface EngineSpec {
  /** Target `host:port`. */
  target: string;
  /** Load mode. */
  mode: Mode;
  /** Connections this engine opens. */
  connections: number;
  /** Bytes per request (echo). */
  message_size: number;
  /** Measured seconds. */
  duration_secs: number;
  /** Unmeasured seconds first. */
  warmup_secs: number;
  /** Requests/s this engine sends in open loop; 0 = closed loop. */
  rate: number;
  /** Connect timeout, and the longest a request may wait for its reply, in seconds. */
  timeout_secs: number;
  /** I/O engine of the connections. @default "auto" */
  engine?: EngineChoice;
  /** The protocol spoken. @default echo */
  protocol?: ProtocolSpec;
  /** Speak TLS with these settings (on the deno engine, whatever `engine` says). */
  tls?: ClientTlsSettings;
}

/** What an engine measured. */
export interface EngineResult {
  /** Requests completed and verified after the warmup. */
  requests: number;
  /** Errors after the warmup, by kind. */
  errors: ErrorCounts;
  /** Up to three samples per error kind (server messages, escaped replies). */
  samples: Record<string, string[]>;
  /** Measured seconds (warmup end to stop). */
  duration_secs: number;
  /** Latency, µs. In open loop: from the intended send time. In churn: connect + exchange. */
  latency: LatencyHistogram;
  /** Open loop only: latency from the actual send time (what coordinated omission shows). */
  uncorrected: LatencyHistogram | undefined;
  /** Churn only: connect latency, µs. */
  connect: LatencyHistogram | undefined;
  /** Payload bytes sent in completed requests (echo). */
  bytes_up: number;
  /** Payload bytes received in completed requests (echo). */
  bytes_down: number;
  /** http: responses by status code. */
  status_codes: Record<string, number>;
  /** Completed requests per command / request, in rotation order. */
  mix: { request: string; requests: number }[];
  /** Connections re-opened after the server closed a keep-alive connection. */
  reconnects: number;
  /** Requests in flight when the run stopped, younger than the timeout. */
  unfinished: number;
  /** The measured window, wall clock (ms since the epoch); undefined when nothing was measured. */
  window_ms?: { start: number; end: number };
}

/** A live view of a running engine, for progress lines and the metrics endpoint. */
export interface EngineSnapshot {
  /** Requests so far (after warmup). */
  requests: number;
  /** Errors so far, by kind. */
  errors: ErrorCounts;
  /** Seconds measured so far (0 during warmup). */
  elapsed_secs: number;
  /** True during warmup. */
  warming_up: boolean;
  /** Latency so far. */
  latency: LatencyHistogram;
}
