/**
 * The proxy on several cores: `workers` Deno Workers share the listen port (SO_REUSEPORT) and
 * the main thread serves one metrics endpoint adding up theirs.
 *
 * @module
 */

import {
  type ClientRow,
  type ClusterControl,
  formatBytes,
  loadTlsCertificate,
  type Logger,
  mergeSnapshots,
  methodNotAllowed,
  startWorkerCluster,
  TOP_CLIENTS,
  withDefaults,
} from "@monkey/shared";
import { PROXY_SCHEMA, type ProxyConfig } from "./config.ts";
import { proxyDashboardView } from "./dashboard.ts";
import type { ProxyHttpApp, ProxySnapshot } from "./proxy.ts";
import { clusterTargetProblem } from "./target_health.ts";

/** A running multi-worker proxy (a `WorkerCluster` of `@monkey/shared/workers`). */
export interface ProxyCluster extends ClusterControl {
  /** The endpoint app: metrics added up over the workers, `/health`, `/clients`. */
  readonly app: ProxyHttpApp;
  /** The `[METRICS]` line over every worker. */
  summaryLine(): Promise<string>;
  /**
   * Re-read `tls_cert`/`tls_key` and have every worker serve new connections with them (SIGHUP).
   * The files are checked here first: a bad pair is logged with the reason, counted in
   * `tls_reload_failures`, and every worker keeps the old certificate.
   *
   * @returns True once every live worker serves the new certificate; false when the old one
   *   stayed (also when TLS termination is off).
   */
  reloadTls(): Promise<boolean>;
}

/** Options for {@linkcode startProxyCluster}. */
export interface StartProxyClusterOptions {
  /** Logger for the endpoint and worker lifecycle lines. */
  logger: Logger;
}

/**
 * Start `config.workers` proxies on one port.
 *
 * @param config Proxy configuration (`workers` ≥ 1).
 * @param options Logger for the endpoint.
 * @returns The running cluster.
 * @throws {ServiceError} When the workers or the endpoint cannot bind.
 * @example
 * ```ts
 * import { Logger } from "@monkey/shared";
 * const cluster = await startProxyCluster(
 *   { listen_addr: "127.0.0.1:0", target_addr: "127.0.0.1:8081", workers: 2 },
 *   { logger: new Logger({ name: "proxy" }) },
 * );
 * console.log(await cluster.summaryLine());
 * await cluster.shutdown(0);
 * ```
 */
export async function startProxyCluster(
  config: Partial<ProxyConfig>,
  options: StartProxyClusterOptions,
): Promise<ProxyCluster> {
  const cfg = withDefaults(PROXY_SCHEMA, config);
  const { logger } = options;
  let reloadFailures = 0;
  const cluster = await startWorkerCluster({
    name: "proxy",
    module: new URL("./worker.ts", import.meta.url),
    config: cfg,
    logger,
    merge: (snaps) => {
      const merged = mergeSnapshots(snaps);
      merged["tls_reload_failures"] = Number(merged["tls_reload_failures"] ?? 0) + reloadFailures;
      return merged;
    },
    routes: [["GET /clients", "per-client-IP connections and bytes (top 100 by bytes)"]],
    problem: clusterTargetProblem,
    dashboard: (snapshot, group) => ({
      view: async () =>
        proxyDashboardView(
          await snapshot() as unknown as ProxySnapshot,
          mergeClients(
            (await group.stats({ extra: true })).map((s) => (s.extra ?? []) as ClientRow[]),
          ),
          cfg,
        ),
    }),
    addRoutes(app, group) {
      app.get(
        "/clients",
        async (c) =>
          c.json(
            mergeClients(
              (await group.stats({ extra: true })).map((s) => (s.extra ?? []) as ClientRow[]),
            ),
          ),
      );
      methodNotAllowed(app, {
        "/metrics": ["GET"],
        "/health": ["GET"],
        "/clients": ["GET"],
        "/": ["GET"],
      });
    },
  });
  return {
    ...cluster,
    async summaryLine() {
      const s = await cluster.snapshot();
      return `[METRICS] active: ${s["active_connections"]} | total: ${
        s["total_connections"]
      } | up: ${formatBytes(Number(s["bytes_upstream"]))} | down: ${
        formatBytes(Number(s["bytes_downstream"]))
      }`;
    },
    async reloadTls() {
      if (cfg.tls_cert === undefined) return false;
      try {
        loadTlsCertificate(cfg, "the proxy configuration");
        await cluster.group.reloadAll({ tls: true });
      } catch (error) {
        reloadFailures++;
        logger.warn(
          `TLS certificate reload failed, keeping the old one: ${
            (error as Error).message.split("\n")[0]
          }`,
        );
        return false;
      }
      logger.info(`TLS certificate reloaded from ${cfg.tls_cert} in ${cluster.workers} workers`);
      return true;
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
