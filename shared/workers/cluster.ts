/**
 * {@linkcode startWorkerCluster}: a service's workers on one port plus the main-thread
 * endpoint that adds up their metrics, and {@linkcode mergeSnapshots} for adding them.
 *
 * Needs `--unstable-net` (set for the workspace in deno.json: `"unstable": ["net"]`).
 *
 * @module
 */

import { ServiceError } from "../service/errors.ts";
import { startEndpoint, type StartEndpointOptions } from "../http/serve.ts";
import { createMetricsApp, type HttpApp, type HttpEndpoint } from "../http/app.ts";
import type { DashboardOptions } from "../http/dashboard/mount.ts";
import type { Logger } from "../service/logger.ts";
import { mergeFamilies, renderFamilies } from "../metrics/registry.ts";
import { WorkerGroup } from "./group.ts";

/**
 * Add up JSON snapshots of several workers: numbers are summed (`uptime_secs` takes the
 * largest), booleans are or-ed, anything else is taken from the first.
 *
 * @param snapshots One per worker.
 * @returns The merged snapshot.
 * @example
 * ```ts
 * mergeSnapshots([{ total: 1, up: true }, { total: 2, up: false }]); // { total: 3, up: true }
 * ```
 */
export function mergeSnapshots(
  snapshots: readonly Record<string, unknown>[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const snapshot of snapshots) {
    for (const [key, value] of Object.entries(snapshot)) {
      const prev = out[key];
      if (typeof value === "number" && typeof prev === "number") {
        out[key] = key.endsWith("uptime_secs") ? Math.max(prev, value) : prev + value;
      } else if (typeof value === "boolean" && typeof prev === "boolean") {
        out[key] = prev || value;
      } else if (!(key in out)) {
        out[key] = value;
      }
    }
  }
  return out;
}

/** Options for {@linkcode startWorkerCluster}. */
export interface WorkerClusterOptions {
  /** Service name for messages and the index page, e.g. "proxy". */
  name: string;
  /** The worker module (it calls `serveInWorker`). */
  module: URL;
  /** The service config: how many workers, where they listen, where the endpoint goes. */
  config: { listen_addr: string; workers: number; metrics_addr: string; grace_period_secs: number };
  /** Logger for the endpoint and for worker deaths. */
  logger: Logger;
  /** Merge the workers' JSON snapshots. @default mergeSnapshots */
  merge?: (snapshots: Record<string, unknown>[]) => Record<string, unknown>;
  /**
   * A reason for `/health` to answer 503 besides draining, read from the merged snapshot
   * (e.g. `target_down`), or undefined when there is none. @default none
   */
  problem?: (snapshot: Record<string, unknown>) => string | undefined;
  /** Extra routes listed on `/`. @default [] */
  routes?: readonly (readonly [string, string])[];
  /** Add service routes (admin API, /clients) to the endpoint app. */
  addRoutes?: (app: HttpApp, group: WorkerGroup) => void;
  /** The live dashboard, fed from the merged snapshot (and the workers). @default none */
  dashboard?: (
    snapshot: () => Promise<Record<string, unknown>>,
    group: WorkerGroup,
  ) => DashboardOptions;
  /** Endpoint options (e.g. the admin token, for the exposure warning). @default {} */
  endpoint?: StartEndpointOptions;
  /** How long one worker may take to answer a stats or HTTP request, in ms. @default ASK_TIMEOUT_MS */
  askTimeoutMs?: number;
}

/** What a multi-worker service shows its caller: where it listens, its metrics, shutdown. */
export interface ClusterControl {
  /** The shared listen address, `host:port`. */
  readonly addr: string;
  /** Bound metrics address, or undefined when off. */
  readonly metricsAddr: string | undefined;
  /** Workers started. */
  readonly workers: number;
  /** Merged JSON metrics, with `draining`, `workers` and `workers_alive`. */
  snapshot(): Promise<Record<string, unknown>>;
  /** Drain every worker for `graceMs` (default: the config's grace period), stop the endpoint. */
  shutdown(
    graceMs?: number,
  ): Promise<{ total_connections: number; forced: number; uptime_secs: number }>;
}

/** Workers on one port plus the main-thread endpoint adding up their metrics. */
export interface WorkerCluster extends ClusterControl {
  /** The workers. */
  readonly group: WorkerGroup;
  /** The endpoint app. */
  readonly app: HttpApp;
}

/**
 * Start `config.workers` workers of a service on one port and serve one endpoint for them.
 * A worker that crashes is logged (one line naming it) and left out of metrics and shutdown;
 * a worker that hangs is left out after the ask timeout, so `/metrics` always answers.
 *
 * @param options Service, worker module, config, logger, routes.
 * @returns The running cluster.
 * @throws {ServiceError} When the workers or the endpoint cannot bind.
 * @example
 * ```ts
 * const cluster = await startWorkerCluster({
 *   name: "proxy",
 *   module: new URL("./worker.ts", import.meta.url),
 *   config: { listen_addr: "127.0.0.1:0", workers: 2, metrics_addr: "off", grace_period_secs: 1 },
 *   logger: new Logger({ name: "proxy" }),
 * });
 * await cluster.shutdown();
 * ```
 */
export async function startWorkerCluster(options: WorkerClusterOptions): Promise<WorkerCluster> {
  const { config } = options;
  const started = performance.now();
  let group: WorkerGroup;
  try {
    group = await WorkerGroup.start(options.module, config.workers, config, {
      logger: options.logger,
      ...(options.askTimeoutMs !== undefined ? { askTimeoutMs: options.askTimeoutMs } : {}),
    });
  } catch (error) {
    throw new ServiceError(
      `Cannot start ${config.workers} ${options.name} workers on ${config.listen_addr}: ${
        (error as Error).message
      }`,
    );
  }
  const merge = options.merge ?? mergeSnapshots;
  let draining = false;
  const snapshot = async () => ({
    ...merge((await group.stats()).map((s) => s.snapshot)),
    draining,
    workers: group.size,
    workers_alive: group.alive,
  });
  const app = createMetricsApp({
    service: `${options.name} (${group.size} workers)`,
    prometheus: async () =>
      renderFamilies(mergeFamilies((await group.stats()).map((s) => s.families))),
    snapshot,
    healthy: () => !draining,
    ...(options.problem ? { problem: async () => options.problem!(await snapshot()) } : {}),
    routes: options.routes ?? [],
    ...(options.dashboard ? { dashboard: options.dashboard(snapshot, group) } : {}),
  });
  options.addRoutes?.(app, group);
  let endpoint: HttpEndpoint | undefined;
  try {
    endpoint = startEndpoint(app, config.metrics_addr, options.logger, options.endpoint);
  } catch (error) {
    await group.shutdown(0);
    throw error;
  }
  return {
    addr: group.addr,
    metricsAddr: endpoint?.addr,
    workers: group.size,
    group,
    app,
    snapshot,
    async shutdown(graceMs = config.grace_period_secs * 1000) {
      draining = true;
      const summary = await group.shutdown(graceMs);
      await endpoint?.shutdown();
      return { ...summary, uptime_secs: (performance.now() - started) / 1000 };
    },
  };
}
