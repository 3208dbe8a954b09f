/**
 * What the load balancer's live dashboard shows: a table like HAProxy's stats page (state,
 * weight, connections, bytes, connect failures, retries, last health check per backend) with
 * the admin actions behind the token, per-backend throughput charts, and the totals.
 *
 * @module
 */

import { type DashboardView, gaugeChart, rateChart, serviceStats } from "@monkey/shared";
import type { LbConfig } from "./config.ts";
import type { LbSnapshot } from "./metrics.ts";

/**
 * One dashboard update of the load balancer. The admin token is never part of it.
 *
 * @param s The JSON snapshot (the same numbers as `/metrics?format=json`).
 * @param config The configuration in force.
 * @returns The view.
 * @example
 * ```ts
 * const view = lbDashboardView(lb.snapshot(), lb.config);
 * ```
 */
export function lbDashboardView(s: LbSnapshot, config: LbConfig): DashboardView {
  const { admin_token, backends: _backends, ...shown } = config;
  const up = s.backends.filter((b) => b.state === "up").length;
  return {
    title: `load balancer (${s.strategy})${s.draining ? " (draining)" : ""}`,
    stats: serviceStats(s, [
      { id: "bytes_upstream", label: "bytes up", value: s.bytes_upstream, unit: "bytes" },
      { id: "bytes_downstream", label: "bytes down", value: s.bytes_downstream, unit: "bytes" },
      {
        id: "backends_up",
        label: "backends up",
        value: `${up}/${s.backends.length}`,
        unit: "text",
      },
      { id: "no_backend", label: "no backend", value: s.no_backend },
      { id: "retries", label: "retries", value: s.retries },
      { id: "failed_connections", label: "failed connections", value: s.failed_connections },
    ]),
    charts: [
      rateChart("conn_rate", "connections/s", "count", { accepted: s.total_connections }),
      rateChart(
        "backend_bytes",
        "bytes/s per backend (both ways)",
        "bytes",
        Object.fromEntries(s.backends.map((b) => [b.addr, b.bytes_in + b.bytes_out])),
      ),
      gaugeChart(
        "backend_active",
        "active connections per backend",
        "count",
        Object.fromEntries(s.backends.map((b) => [b.addr, b.active_connections])),
      ),
      rateChart("errors", "errors/s", "count", {
        no_backend: s.no_backend,
        failed: s.failed_connections,
        retries: s.retries,
        relay_errors: s.relay_errors,
        rejected: s.rejected_connections,
        denied: s.denied_connections,
      }),
    ],
    tables: [{
      id: "backends",
      title: "backends",
      actions: "backends",
      columns: [
        { key: "addr", label: "backend" },
        { key: "state", label: "state" },
        { key: "role", label: "role" },
        { key: "weight", label: "weight", unit: "count" },
        { key: "active_connections", label: "active", unit: "count" },
        { key: "total_connections", label: "total", unit: "count" },
        { key: "bytes_in", label: "bytes in", unit: "bytes" },
        { key: "bytes_out", label: "bytes out", unit: "bytes" },
        { key: "connect_errors", label: "connect fail", unit: "count" },
        { key: "retries", label: "retries", unit: "count" },
        { key: "check", label: "last check" },
        { key: "check_ms", label: "check latency", unit: "ms" },
      ],
      rows: s.backends.map((b) => ({
        addr: b.addr,
        state: b.removing ? "removing" : b.state,
        role: b.backup ? "backup" : "primary",
        weight: b.weight,
        active_connections: b.active_connections,
        total_connections: b.total_connections,
        bytes_in: b.bytes_in,
        bytes_out: b.bytes_out,
        connect_errors: b.connect_errors,
        retries: b.retries,
        check: b.last_check?.result ?? "none yet",
        check_ms: b.last_check?.latency_ms ?? null,
      })),
    }],
    config: { ...shown, admin_token: admin_token === undefined ? "(not set)" : "(set)" },
  };
}
