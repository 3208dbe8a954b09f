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
  type LbHttpApp,
  type LbShutdownSummary,
  type LbSnapshot,
  type LoadBalancer,
  type ReloadSummary,
  startLoadBalancer,
  type StartLoadBalancerOptions,
} from "./balancer.ts";
export { type LbCluster, startLbCluster } from "./cluster.ts";
export {
  BACKEND_SCHEMA,
  type BackendConfig,
  HEALTH_SCHEMA,
  type HealthConfig,
  LB_SCHEMA,
  type LbConfig,
  type LbConfigInput,
  lbUsesTls,
  loadLbConfig,
  NO_SNI_ACTIONS,
  ownsUpstreamTls,
  parseBackendFlag,
  POOL_SCHEMA,
  POOL_UPSTREAM_TLS_FIELDS,
  type PoolConfig,
  type PoolConfigInput,
  poolUpstreamKeys,
  ROUTE_SCHEMA,
  type RouteConfig,
  sniPatternProblem,
  STRATEGIES,
  type StrategyName,
} from "./config.ts";
export { NamedPools, type NamedPoolsOptions } from "./named_pools.ts";
export {
  type ClientFacts,
  type Route,
  type RoutedPool,
  Router,
  sniMatches,
  TrafficCounters,
} from "./routing.ts";
export { type PoolSnapshot, type RouteSnapshot } from "./routing_metrics.ts";
export type { PassiveHealth } from "./connection.ts";
export {
  Backend,
  type BackendControls,
  type BackendSettings,
  type BackendSnapshot,
  type BackendSource,
  type BackendState,
  type CheckRecord,
} from "./backend.ts";
export {
  BackendPool,
  type Candidates,
  type NewBackend,
  type PoolEvents,
  type RemoveResult,
} from "./pool.ts";
export {
  createStrategy,
  type Pickable,
  type PickContext,
  type Strategy,
  type StrategyOptions,
} from "./strategies.ts";
export {
  checkOnce,
  type CheckOptions,
  type CheckOutcome,
  HealthChecker,
  type HealthCheckerOptions,
  type HealthCounters,
  type HealthPolicy,
  recordResult,
} from "./health.ts";
export { ADMIN_ROUTES, MAX_BODY_BYTES, sameSecret } from "./admin.ts";
export {
  attachDiscovery,
  type AttachDiscoveryOptions,
  checkDiscoverySettings,
  DISCOVERY_FIELDS,
  type DiscoverySettings,
} from "./discovery.ts";
export {
  type BackendChange,
  LIVE_KEYS,
  type LiveBackend,
  planReload,
  type ReloadPlan,
  RESTART_KEYS,
} from "./reload_plan.ts";

// Types from @monkey/shared that this package's API names.
export type {
  ClusterControl,
  ConfigOf,
  DiscoveredTarget,
  DiscoveryLoop,
  DiscoveryLoopOptions,
  EchoEnd,
  EchoOptions,
  EchoResult,
  Engine,
  EngineConnectOptions,
  EngineListenOptions,
  Logger,
  LoggerOptions,
  LogLevel,
  LogSink,
  MetricFamily,
  NetConn,
  NetListener,
  Optional,
  ProxyProtocolMode,
  RelayEnd,
  RelayMode,
  RelayOptions,
  RelayResult,
  RelayStats,
  Resolution,
  TlsKeys,
  ValueOf,
} from "@monkey/shared";
// The `[health_check]` keys come from @monkey/shared (the proxy checks its target with them).
export { HEALTH_CHECK_FIELDS } from "@monkey/shared";
