/**
 * `@monkey/shared`: the core every Monkey D. TCP service runs on, by plane. Each plane is
 * also a subpath export, for importing one area:
 *
 * - `@monkey/shared/net`: addresses, CIDR rules, {@linkcode connectTcp}, {@linkcode TcpServer},
 *   {@linkcode startFrontend}, {@linkcode relay}, the PROXY protocol.
 * - `@monkey/shared/config`: {@linkcode loadConfig} (TOML + flags against a schema), shared fields, units.
 * - `@monkey/shared/health`: {@linkcode checkOnce}, {@linkcode recordResult}, {@linkcode HealthMonitor} (active checks).
 * - `@monkey/shared/http`: {@linkcode createMetricsApp} (the Hono endpoint) and {@linkcode startEndpoint}.
 * - `@monkey/shared/metrics`: {@linkcode Registry} (Prometheus text) and {@linkcode ClientTable}.
 * - `@monkey/shared/service`: {@linkcode serviceMain}, errors and exit codes, {@linkcode Logger}.
 * - `@monkey/shared/workers`: {@linkcode startWorkerCluster} (Workers sharing a port).
 *
 * @example
 * ```ts
 * import { relay } from "@monkey/shared";
 * const result = await relay(client, upstream, { mode: "loop" });
 * ```
 *
 * @module
 */

export * from "./config/mod.ts";
export * from "./health/mod.ts";
export * from "./http/mod.ts";
export * from "./metrics/mod.ts";
export * from "./net/mod.ts";
export * from "./service/mod.ts";
export * from "./workers/mod.ts";
