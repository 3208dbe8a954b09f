/**
 * Metrics: counters, gauges and histograms rendered as Prometheus text, and the per-client
 * table.
 *
 * @example
 * ```ts
 * import { Registry } from "@monkey/shared/metrics";
 * const registry = new Registry();
 * registry.counter("demo_total", "Demo events").inc();
 * console.log(registry.render());
 * ```
 *
 * @module
 */

export * from "./registry.ts";
export * from "./clients.ts";
