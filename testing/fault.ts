/**
 * A fault-injection harness for TCP relays (the proxy, the load balancer, anything that
 * forwards a `host:port` to an upstream). It provides a misbehaving upstream
 * ({@linkcode startFaultUpstream}) and drives the service under test with thousands of
 * connections mixing normal exchanges and faults ({@linkcode runFaultSuite}), then reports
 * byte-exactness, hangs, descriptors, memory and unhandled rejections
 * ({@linkcode FaultReport}, {@linkcode formatFaultReport}); {@linkcode assertFaultReport}
 * holds the assertions every service's fault test makes.
 *
 * Every client tells the upstream what to do with a 9-byte header (mode, seed, size), so one
 * upstream serves every fault kind and the relay in between stays a black box. Payloads are
 * slices of one random tape, so both ends can check every byte without keeping copies.
 *
 * This module imports no service; tests start the service and hand its address here.
 *
 * @example
 * ```ts
 * import { assertFaultReport, runFaultSuite, startFaultUpstream } from "@monkey/testing/fault";
 * await using upstream = startFaultUpstream();
 * const proxy = startProxy({ listen_addr: "127.0.0.1:0", target_addr: upstream.addrs[0]!, idle_timeout_secs: 1 });
 * const report = await runFaultSuite(
 *   { main: { addr: proxy.addr, active: () => proxy.snapshot().active_connections } },
 *   upstream,
 * );
 * assertFaultReport(report, { minConnections: 2000 });
 * ```
 *
 * @module
 */

export { DEFAULT_MIX, FAULT_KINDS, type FaultKind, RUN_DEFAULTS } from "./fault/plan.ts";
export {
  type FaultUpstream,
  type FaultUpstreamOptions,
  startFaultUpstream,
} from "./fault/upstream.ts";
export {
  type FaultRunOptions,
  type FaultTarget,
  type FaultTargets,
  runFaultSuite,
  type ServiceHandle,
  serviceTarget,
} from "./fault/suite.ts";
export {
  assertFaultReport,
  type FaultExpectations,
  type FaultReport,
  formatFaultReport,
} from "./fault/report.ts";
export { openFds } from "./fault/fds.ts";
export { type FaultTrialOptions, runFaultTrial, type TrialService } from "./fault/trial.ts";
