/**
 * What the proxy's live dashboard shows: connections, bytes each way, errors and refusals by
 * kind, the top clients, engine and relay, uptime and the effective configuration.
 *
 * @module
 */

import {
  type ClientRow,
  type DashboardView,
  gaugeChart,
  rateChart,
  serviceStats,
} from "@monkey/shared";
import type { ProxySnapshot } from "./proxy.ts";

/** Clients shown in the dashboard's table. */
const TOP_CLIENTS = 20;

/**
 * One dashboard update of the proxy.
 *
 * @param s The JSON snapshot (the same numbers as `/metrics?format=json`).
 * @param clients Per-client rows, busiest first.
 * @param config The effective configuration.
 * @returns The view.
 * @example
 * ```ts
 * const view = proxyDashboardView(proxy.snapshot(), proxy.clientRows(), config);
 * ```
 */
export function proxyDashboardView(
  s: ProxySnapshot,
  clients: readonly ClientRow[],
  config: Readonly<Record<string, unknown>>,
): DashboardView {
  const errors = {
    connect_errors: s.connect_errors,
    connect_timeouts: s.connect_timeouts,
    relay_errors: s.relay_errors,
    idle_timeouts: s.idle_timeouts,
    rejected_connections: s.rejected_connections,
    denied_connections: s.denied_connections,
    accept_errors: s.accept_errors,
  };
  return {
    title: `proxy → ${s.target}${s.draining ? " (draining)" : ""}`,
    stats: serviceStats({ ...s, engine: `${s.engine} / ${s.relay}` }, [
      { id: "bytes_upstream", label: "bytes up", value: s.bytes_upstream, unit: "bytes" },
      { id: "bytes_downstream", label: "bytes down", value: s.bytes_downstream, unit: "bytes" },
      { id: "connect_errors", label: "connect errors", value: s.connect_errors },
      { id: "rejected_connections", label: "refused (limit)", value: s.rejected_connections },
      { id: "denied_connections", label: "denied (allow/deny)", value: s.denied_connections },
    ], "engine / relay"),
    charts: [
      rateChart("conn_rate", "connections/s", "count", { accepted: s.total_connections }),
      gaugeChart("active", "active connections", "count", { active: s.active_connections }),
      rateChart("bytes", "bytes/s each way", "bytes", {
        up: s.bytes_upstream,
        down: s.bytes_downstream,
      }),
      rateChart("errors", "errors and refusals/s", "count", errors),
    ],
    tables: [
      {
        id: "clients",
        title: `top clients (by bytes, first ${TOP_CLIENTS}; all in /clients)`,
        columns: [
          { key: "ip", label: "client" },
          { key: "active_connections", label: "active", unit: "count" },
          { key: "total_connections", label: "total", unit: "count" },
          { key: "bytes_upstream", label: "up", unit: "bytes" },
          { key: "bytes_downstream", label: "down", unit: "bytes" },
        ],
        rows: clients.slice(0, TOP_CLIENTS).map((row) => ({ ...row })),
      },
      {
        id: "errors",
        title: "errors and refusals by kind",
        columns: [{ key: "kind", label: "kind" }, { key: "count", label: "count", unit: "count" }],
        rows: Object.entries(errors).map(([kind, count]) => ({ kind, count })),
      },
    ],
    config: { ...config },
  };
}
