/**
 * The HTTP endpoint every service serves: the Hono metrics/health app factory and serving it
 * on `metrics_addr`.
 *
 * @example
 * ```ts
 * import { createMetricsApp } from "@monkey/shared/http";
 * const app = createMetricsApp({ service: "demo", prometheus: () => "", snapshot: () => ({}) });
 * const res = await app.request("/health");
 * ```
 *
 * @module
 */

export * from "./app.ts";
export * from "./serve.ts";
export * from "./dashboard/mod.ts";
