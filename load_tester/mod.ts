/**
 * `@monkey/load-tester`: the load generator and reporter.
 *
 * - {@linkcode runScenario} / {@linkcode runMatrix}: run scenarios (ping-pong, churn, open
 *   loop) against a target and get results with HDR latency histograms.
 * - {@linkcode loadTestConfig}: the seed's `load_test.toml` schema plus flags.
 * - Protocols: `echo` (every byte verified), `redis` ({@linkcode RedisClient}), `http`
 *   ({@linkcode HttpClient}) and `raw` ({@linkcode RawClient}), with request templates
 *   ({@linkcode Template}) and pipelining.
 * - {@linkcode formatReport}: table, JSON, CSV or Markdown.
 * - {@linkcode mergeReports}: add results of several machines exactly.
 * - {@linkcode compareWithBaseline}, {@linkcode findCapacity}, {@linkcode loadTestCli}.
 *
 * @example
 * ```ts
 * import { runScenario } from "@monkey/load-tester";
 * const result = await runScenario(
 *   { name: "x", mode: "pingpong", connections: 10, duration_secs: 1, message_size: 1024, rate: 0, warmup_secs: 0 },
 *   { target: "127.0.0.1:8081" },
 * );
 * console.log(result.rps, result.latency_us.p99);
 * ```
 *
 * @module
 */

export * from "./baseline.ts";
export * from "./capacity.ts";
export {
  clientEngineNote,
  clientTlsFrom,
  type ClientTlsKeys,
  type ClientTlsSettings,
} from "./client_tls.ts";
export * from "./cli.ts";
export * from "./config.ts";
export * from "./engine.ts";
export * from "./errors.ts";
export * from "./histogram.ts";
export * from "./live_metrics.ts";
export * from "./payload.ts";
export * from "./progress.ts";
export * from "./protocols/mod.ts";
export * from "./report.ts";
export * from "./report_html.ts";
export * from "./result.ts";
export { mergeReports, mergeResults } from "./result_merge.ts";
export * from "./runner.ts";
export * from "./series.ts";
export * from "./shard.ts";
export * from "./shard_merge.ts";
export * from "./sharded_run.ts";
export * from "./start_at.ts";

/** This package's version. */
export { TOOL_VERSION as VERSION } from "./result.ts";

// Types from @monkey/shared that this package's API names.
export type {
  ConfigOf,
  EngineChoice,
  EngineName,
  HttpEndpoint,
  Logger,
  LoggerOptions,
  LogLevel,
  LogSink,
  Optional,
  UpstreamTlsSettings,
  ValueOf,
} from "@monkey/shared";
