/**
 * `@monkey/echo`: a TCP echo server, the test backend of Monkey D. TCP.
 *
 * @example
 * ```ts
 * import { startEcho } from "@monkey/echo";
 * const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
 * await echo.shutdown();
 * ```
 *
 * @module
 */

export {
  type EchoHttpApp,
  type EchoServer,
  type EchoSnapshot,
  type ShutdownSummary,
  startEcho,
  type StartEchoOptions,
} from "./echo.ts";
export { ECHO_SCHEMA, type EchoConfig } from "./config.ts";

// Types from @monkey/shared that this package's API names.
export type {
  ConfigOf,
  Logger,
  LoggerOptions,
  LogLevel,
  LogSink,
  Optional,
  ValueOf,
} from "@monkey/shared";
