/**
 * `@monkey/shared`: the core every Monkey D. TCP service is built on.
 *
 * - {@linkcode relay}: the bidirectional TCP relay (read/write loop or `pipeTo`).
 * - {@linkcode TcpServer}: accept loop, connection limit, drain.
 * - {@linkcode loadConfig}: TOML + flags, validated against a schema.
 * - {@linkcode Registry}: counters, gauges and histograms as Prometheus text.
 * - {@linkcode createMetricsApp}: the Hono metrics/health endpoint.
 * - {@linkcode parseAddress}: `host:port` and `[v6]:port`.
 *
 * @example
 * ```ts
 * import { relay } from "@monkey/shared";
 * const result = await relay(client, upstream, { mode: "loop" });
 * ```
 *
 * @module
 */

export * from "./address.ts";
export * from "./cidr.ts";
export * from "./cli.ts";
export * from "./clients.ts";
export * from "./common.ts";
export * from "./config.ts";
export * from "./connect.ts";
export * from "./frontend.ts";
export * from "./http.ts";
export * from "./logger.ts";
export * from "./metrics.ts";
export * from "./process.ts";
export * from "./proxy_protocol.ts";
export * from "./relay.ts";
export * from "./server.ts";
export * from "./units.ts";
export * from "./workers.ts";
export { copyLoop, INITIAL_BUFFER, MAX_BUFFER } from "./_copy.ts";
