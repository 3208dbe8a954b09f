/**
 * The proxy on several cores: `workers` Deno Workers share the listen port (SO_REUSEPORT) and
 * the main thread serves one metrics endpoint adding up theirs.
 *
 * @module
 */

import {
  type ClientRow,
  createMetricsApp,
  formatBytes,
  type Logger,
  mergeFamilies,
  mergeSnapshots,
  methodNotAllowed,
  renderFamilies,
  ServiceError,
  startEndpoint,
  TOP_CLIENTS,
  withDefaults,
  WorkerGroup,
} from "@monkey/shared";
import { PROXY_SCHEMA, type ProxyConfig } from "./config.ts";

/** A running multi-worker proxy. */
export interface ProxyCluster {
  /** The shared listen address. */
  readonly addr: string;
  /** Bound metrics address, or undefined when off. */
  readonly metricsAddr: string | undefined;
  /** Workers running. */
  readonly workers: number;
  /** The metrics app (aggregated over workers). */
  readonly app: ReturnType<typeof createMetricsApp>;
  /** Summed JSON metrics of every worker. */
  snapshot(): Promise<Record<string, unknown>>;
  /** The `[METRICS]` line over every worker. */
  summaryLine(): Promise<string>;
  /** Drain every worker for `graceMs` (default: config) and stop. */
  shutdown(
    graceMs?: number,
  ): Promise<{ total_connections: number; forced: number; uptime_secs: number }>;
}

/**
 * Start `config.workers` proxies on one port.
 *
 * @param config Proxy configuration (`workers` ≥ 1).
 * @param options Logger for the endpoint.
 * @returns The running cluster.
 * @throws {ServiceError} When the workers or the endpoint cannot bind.
 */
export async function startProxyCluster(
  config: Partial<ProxyConfig>,
  options: { logger: Logger },
): Promise<ProxyCluster> {
  const cfg = withDefaults(PROXY_SCHEMA, config);
  const started = performance.now();
  let group: WorkerGroup;
  try {
    group = await WorkerGroup.start(new URL("./worker.ts", import.meta.url), cfg.workers, cfg);
  } catch (error) {
    throw new ServiceError(
      `Cannot start ${cfg.workers} proxy workers on ${cfg.listen_addr}: ${
        (error as Error).message
      }`,
    );
  }
  let draining = false;
  const snapshot = async (): Promise<Record<string, unknown>> => {
    const merged = mergeSnapshots((await group.stats()).map((s) => s.snapshot));
    return { ...merged, draining, workers: group.size };
  };
  const app = createMetricsApp({
    service: `proxy (${group.size} workers)`,
    prometheus: async () =>
      renderFamilies(mergeFamilies((await group.stats()).map((s) => s.families))),
    snapshot,
    healthy: () => !draining,
    routes: [["GET /clients", "per-client-IP connections and bytes (top 100 by bytes)"]],
  });
  app.get(
    "/clients",
    async (c) => c.json(mergeClients((await group.stats()).map((s) => s.extra as ClientRow[]))),
  );
  methodNotAllowed(app, {
    "/metrics": ["GET"],
    "/health": ["GET"],
    "/clients": ["GET"],
    "/": ["GET"],
  });
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
      return `[METRICS] active: ${s["active_connections"]} | total: ${
        s["total_connections"]
      } | up: ${formatBytes(Number(s["bytes_upstream"]))} | down: ${
        formatBytes(Number(s["bytes_downstream"]))
      }`;
    },
    async shutdown(graceMs = cfg.grace_period_secs * 1000) {
      draining = true;
      const summary = await group.shutdown(graceMs);
      await endpoint?.shutdown();
      return { ...summary, uptime_secs: (performance.now() - started) / 1000 };
    },
  };
}

function mergeClients(lists: readonly ClientRow[][]): ClientRow[] {
  const byIp = new Map<string, ClientRow>();
  for (const rows of lists) {
    for (const row of rows) {
      const prev = byIp.get(row.ip);
      byIp.set(
        row.ip,
        prev
          ? {
            ip: row.ip,
            active_connections: prev.active_connections + row.active_connections,
            total_connections: prev.total_connections + row.total_connections,
            bytes_upstream: prev.bytes_upstream + row.bytes_upstream,
            bytes_downstream: prev.bytes_downstream + row.bytes_downstream,
          }
          : { ...row },
      );
    }
  }
  return [...byIp.values()]
    .sort((a, b) =>
      (b.bytes_upstream + b.bytes_downstream) - (a.bytes_upstream + a.bytes_downstream)
    )
    .slice(0, TOP_CLIENTS);
}
