/**
 * The load balancer on several cores: `workers` Deno Workers share the listen port
 * (SO_REUSEPORT). The main thread serves one endpoint: metrics added up over the workers, and
 * the admin API forwarded to every worker (each keeps its own pool and health checks, so a
 * drain, weight change or reload reaches all of them).
 *
 * @module
 */

import {
  createMetricsApp,
  formatBytes,
  type Logger,
  mergeFamilies,
  mergeSnapshots,
  renderFamilies,
  ServiceError,
  startEndpoint,
  WorkerGroup,
} from "@monkey/shared";
import { MAX_BODY_BYTES } from "./admin.ts";
import type { BackendSnapshot } from "./backends.ts";
import type { ReloadSummary } from "./balancer.ts";
import { type LbConfig, type LbConfigInput, normalizeLbConfig } from "./config.ts";

/** A running multi-worker load balancer. */
export interface LbCluster {
  /** The shared listen address. */
  readonly addr: string;
  /** Bound metrics/admin address, or undefined when off. */
  readonly metricsAddr: string | undefined;
  /** Workers running. */
  readonly workers: number;
  /** The endpoint app (metrics added up, admin forwarded). */
  readonly app: ReturnType<typeof createMetricsApp>;
  /** Summed JSON metrics; `backends` merged by address. */
  snapshot(): Promise<Record<string, unknown>>;
  /** The `[METRICS]` line over every worker. */
  summaryLine(): Promise<string>;
  /** Apply a new configuration in every worker. */
  reload(config: LbConfigInput): Promise<ReloadSummary>;
  /** Count a rejected reload. */
  reloadFailed(): void;
  /** Drain every worker and stop. */
  shutdown(
    graceMs?: number,
  ): Promise<{ total_connections: number; forced: number; uptime_secs: number }>;
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
 */
export async function startLbCluster(
  input: LbConfigInput,
  options: { logger: Logger },
): Promise<LbCluster> {
  const cfg: LbConfig = normalizeLbConfig(input);
  const started = performance.now();
  let group: WorkerGroup;
  try {
    group = await WorkerGroup.start(new URL("./worker.ts", import.meta.url), cfg.workers, cfg);
  } catch (error) {
    throw new ServiceError(
      `Cannot start ${cfg.workers} load balancer workers on ${cfg.listen_addr}: ${
        (error as Error).message
      }`,
    );
  }
  let draining = false;
  let reloadFailures = 0;
  const snapshot = async (): Promise<Record<string, unknown>> => {
    const snaps = (await group.stats()).map((s) => s.snapshot);
    const merged = mergeSnapshots(snaps.map(({ backends: _, ...rest }) => rest));
    const backends = mergeBackendLists(snaps.map((s) => s["backends"] as BackendSnapshot[]));
    return { ...merged, reload_failures: reloadFailures, draining, workers: group.size, backends };
  };
  const app = createMetricsApp({
    service: `load balancer (${group.size} workers)`,
    prometheus: async () =>
      renderFamilies(mergeFamilies((await group.stats()).map((s) => s.families))),
    snapshot,
    healthy: () => !draining,
    routes: [["GET|POST|PATCH|DELETE /backends…", "admin API, forwarded to every worker"]],
  });
  const forward = async (request: Request, path: string) => {
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > MAX_BODY_BYTES) {
      return Response.json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, { status: 413 });
    }
    const responses = await group.fetchAll(request);
    const first = responses[0]!;
    if (request.method === "GET" && path === "/backends" && first.status === 200) {
      const lists = await Promise.all(responses.map((r) => r.json() as Promise<BackendSnapshot[]>));
      return Response.json(mergeBackendLists(lists));
    }
    await Promise.all(responses.slice(1).map((r) => r.body?.cancel()));
    return first;
  };
  app.all("/backends", (c) => forward(c.req.raw, c.req.path));
  app.all("/backends/*", (c) => forward(c.req.raw, c.req.path));
  let endpoint;
  try {
    endpoint = startEndpoint(app, cfg.metrics_addr, options.logger);
  } catch (error) {
    await group.shutdown(0);
    throw error;
  }
  return {
    addr: group.addr,
    metricsAddr: endpoint?.addr,
    workers: group.size,
    app,
    snapshot,
    async summaryLine() {
      const s = await snapshot();
      const backends = s["backends"] as BackendSnapshot[];
      return `[METRICS] active: ${s["active_connections"]} | total: ${
        s["total_connections"]
      } | up: ${formatBytes(Number(s["bytes_upstream"]))} | down: ${
        formatBytes(Number(s["bytes_downstream"]))
      } | backends up: ${backends.filter((b) => b.state === "up").length}/${backends.length}`;
    },
    async reload(config) {
      // Workers run without an endpoint of their own; the main thread keeps metrics_addr.
      return await group.reloadAll({
        ...normalizeLbConfig(config),
        metrics_addr: "off",
      }) as ReloadSummary;
    },
    reloadFailed: () => void reloadFailures++,
    async shutdown(graceMs = cfg.grace_period_secs * 1000) {
      draining = true;
      const summary = await group.shutdown(graceMs);
      await endpoint?.shutdown();
      return { ...summary, uptime_secs: (performance.now() - started) / 1000 };
    },
  };
}
