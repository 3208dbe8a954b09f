/**
 * Active health checks: one check of a TCP address ({@linkcode checkOnce}), the rise/fall
 * state machine ({@linkcode recordResult}) and a timer-driven monitor of one address
 * ({@linkcode HealthMonitor}). The load balancer checks its backends with them, the proxy its
 * target.
 *
 * @example
 * ```ts
 * import { checkOnce } from "@monkey/shared/health";
 * const outcome = await checkOnce("127.0.0.1:8081", { timeoutMs: 1000 });
 * ```
 *
 * @module
 */

export * from "./check.ts";
export * from "./monitor.ts";
export * from "./state.ts";
