/**
 * `@monkey/proxy`: a TCP proxy with live metrics, per-client stats and graceful shutdown.
 *
 * @example
 * ```ts
 * import { startProxy } from "@monkey/proxy";
 * const proxy = startProxy({ listen_addr: "127.0.0.1:0", target_addr: "127.0.0.1:8081" });
 * console.log(proxy.addr, proxy.snapshot().active_connections);
 * await proxy.shutdown();
 * ```
 *
 * @module
 */

export {
  type Proxy,
  type ProxyHttpApp,
  type ProxyShutdownSummary,
  type ProxySnapshot,
  startProxy,
  type StartProxyOptions,
} from "./proxy.ts";
export { PROXY_SCHEMA, type ProxyConfig } from "./config.ts";
export { type ProxyCluster, startProxyCluster, type StartProxyClusterOptions } from "./cluster.ts";

// Types from @monkey/shared that this package's API names.
export type {
  ClientRow,
  ClusterControl,
  ConfigOf,
  Logger,
  LoggerOptions,
  LogLevel,
  LogSink,
  MetricFamily,
  Optional,
  ValueOf,
} from "@monkey/shared";
