/**
 * The load balancer on several cores: `workers` Deno Workers share the listen port
 * (SO_REUSEPORT). The main thread serves one endpoint: metrics added up over the workers, and
 * the admin API forwarded to every worker (each keeps its own pool and health checks, so a
 * drain, weight change or reload reaches all of them).
 *
 * @module
 */

import { Hono } from "hono";
import {
  type ClusterControl,
  formatBytes,
  type Logger,
  mergeSnapshots,
  startWorkerCluster,
} from "@monkey/shared";
import { limitAdminBody } from "./admin_guard.ts";
import type { BackendSnapshot } from "./backend.ts";
import type { LbHttpApp, ReloadSummary } from "./balancer.ts";
import { type LbConfig, type LbConfigInput, normalizeLbConfig } from "./config.ts";
import { lbDashboardView } from "./dashboard.ts";
import type { LbSnapshot } from "./metrics.ts";

/** A running multi-worker load balancer. */
export interface LbCluster extends ClusterControl {
  /** The endpoint app: metrics added up over the workers, `/health`, the admin API. */
  readonly app: LbHttpApp;
  /** The `[METRICS]` line over every worker. */
  summaryLine(): Promise<string>;
  /** Apply a new configuration in every worker. */
  reload(config: LbConfigInput): Promise<ReloadSummary>;
  /** Count a rejected reload. */
  reloadFailed(): void;
}

const SUMMED = [
  "active_connections",
  "total_connections",
  "bytes_in",
  "bytes_out",
  "connect_errors",
  "retries",
];

/**
 * Merge the backend lists of several workers by address: traffic counters are summed, the
 * rest (weight, state, last check) is the first worker's.
 *
 * @param lists One list per worker.
 * @returns One entry per backend.
 * @example
 * ```ts
 * const merged = mergeBackendLists(await Promise.all(workers.map((w) => w.backends())));
 * ```
 */
export function mergeBackendLists(lists: readonly BackendSnapshot[][]): BackendSnapshot[] {
  const byAddr = new Map<string, BackendSnapshot>();
  for (const list of lists) {
    for (const backend of list) {
      const prev = byAddr.get(backend.addr);
      if (prev === undefined) {
        byAddr.set(backend.addr, { ...backend });
        continue;
      }
      const sum = prev as unknown as Record<string, number>;
      for (const key of SUMMED) {
        sum[key] = (sum[key] ?? 0) + ((backend as unknown as Record<string, number>)[key] ?? 0);
      }
    }
  }
  return [...byAddr.values()];
}

/**
 * Start `config.workers` load balancers on one port.
 *
 * @param input Load balancer configuration (`workers` ≥ 1).
 * @param options Logger for the endpoint.
 * @returns The running cluster.
 * @throws {ServiceError} When the workers or the endpoint cannot bind.
 * @example
 * ```ts
 * const cluster = await startLbCluster({ workers: 2, backends: [{ addr: "127.0.0.1:8081" }] }, { logger });
 * await cluster.shutdown();
 * ```
 */
export async function startLbCluster(
  input: LbConfigInput,
  options: { logger: Logger },
): Promise<LbCluster> {
  const cfg: LbConfig = normalizeLbConfig(input);
  let reloadFailures = 0;
  /** The configuration the dashboard shows: the last one reloaded. */
  let inForce = cfg;
  const cluster = await startWorkerCluster({
    name: "load balancer",
    module: new URL("./worker.ts", import.meta.url),
    config: cfg,
    logger: options.logger,
    merge: (snaps) => ({
      ...mergeSnapshots(snaps.map(({ backends: _, ...rest }) => rest)),
      reload_failures: reloadFailures,
      backends: mergeBackendLists(snaps.map((s) => s["backends"] as BackendSnapshot[])),
    }),
    routes: [["GET|POST|PATCH|DELETE /backends…", "admin API, forwarded to every worker"]],
    endpoint: { admin: { token: cfg.admin_token } },
    dashboard: (snapshot) => ({
      view: async () => lbDashboardView(await snapshot() as unknown as LbSnapshot, inForce),
    }),
    addRoutes(app, group) {
      const forward = async (request: Request, path: string) => {
        const responses = await group.fetchAll(request);
        const first = responses[0]!;
        if (request.method === "GET" && path === "/backends" && first.status === 200) {
          const lists = await Promise.all(
            responses.map((r) => r.json() as Promise<BackendSnapshot[]>),
          );
          return Response.json(mergeBackendLists(lists));
        }
        await Promise.all(responses.slice(1).map((r) => r.body?.cancel()));
        return first;
      };
      // The body is read here, once, to copy it to every worker: limit it while reading, so a
      // chunked body without a length is cut off at the limit rather than read whole.
      const admin = new Hono();
      for (const path of ["/backends", "/backends/*"]) {
        admin.all(path, limitAdminBody(), (c) => forward(c.req.raw, c.req.path));
      }
      app.route("/", admin);
    },
  });
  return {
    addr: cluster.addr,
    metricsAddr: cluster.metricsAddr,
    workers: cluster.workers,
    app: cluster.app,
    snapshot: () => cluster.snapshot(),
    shutdown: (graceMs) => cluster.shutdown(graceMs),
    async summaryLine() {
      const s = await cluster.snapshot();
      const backends = s["backends"] as BackendSnapshot[];
      return `[METRICS] active: ${s["active_connections"]} | total: ${
        s["total_connections"]
      } | up: ${formatBytes(Number(s["bytes_upstream"]))} | down: ${
        formatBytes(Number(s["bytes_downstream"]))
      } | backends up: ${backends.filter((b) => b.state === "up").length}/${backends.length}`;
    },
    async reload(config) {
      // Workers run without an endpoint of their own; the main thread keeps metrics_addr.
      const next = { ...normalizeLbConfig(config), metrics_addr: "off" };
      const summary = await cluster.group.reloadAll(next) as ReloadSummary;
      inForce = { ...next, metrics_addr: cfg.metrics_addr };
      return summary;
    },
    reloadFailed: () => void reloadFailures++,
  };
}
