/**
 * `@monkey/load-balancer`: a TCP load balancer with six strategies, active and passive
 * health checks, retries, backup backends, an admin API, drain, PROXY protocol and reload
 * without dropping connections.
 *
 * @example
 * ```ts
 * import { startLoadBalancer } from "@monkey/load-balancer";
 * const lb = startLoadBalancer({
 *   listen_addr: "127.0.0.1:0",
 *   strategy: "least_connections",
 *   backends: [{ addr: "127.0.0.1:8081" }, { addr: "127.0.0.1:8082" }],
 * });
 * console.log(lb.addr, lb.snapshot().backends);
 * await lb.shutdown();
 * ```
 *
 * @module
 */

/** This package's version. */
export const VERSION = "0.1.0";

export {
  type LbShutdownSummary,
  type LbSnapshot,
  type LoadBalancer,
  type ReloadSummary,
  startLoadBalancer,
  type StartLoadBalancerOptions,
} from "./balancer.ts";
export { type LbCluster, startLbCluster } from "./cluster.ts";
export {
  type BackendConfig,
  type HealthConfig,
  LB_SCHEMA,
  type LbConfig,
  type LbConfigInput,
  loadLbConfig,
  parseBackendFlag,
  STRATEGIES,
  type StrategyName,
} from "./config.ts";
export {
  Backend,
  BackendPool,
  type BackendSnapshot,
  type BackendState,
  type CheckRecord,
} from "./backends.ts";
export { createStrategy, type Pickable, type PickContext, type Strategy } from "./strategies.ts";
export { checkOnce, HealthChecker, recordResult } from "./health.ts";
export { addAdminRoutes, type AdminOptions } from "./admin.ts";
