/**
 * What the echo server's live dashboard shows: connections and bytes/s.
 *
 * @module
 */

import { type DashboardView, gaugeChart, rateChart, serviceStats } from "@monkey/shared";
import type { EchoSnapshot } from "./echo.ts";

/**
 * One dashboard update of the echo server.
 *
 * @param s The JSON snapshot (the same numbers as `/metrics?format=json`).
 * @param config The effective configuration.
 * @returns The view.
 * @example
 * ```ts
 * const view = echoDashboardView(echo.snapshot(), config);
 * ```
 */
export function echoDashboardView(
  s: EchoSnapshot,
  config: Readonly<Record<string, unknown>>,
): DashboardView {
  return {
    title: `echo${s.draining ? " (draining)" : ""}`,
    stats: serviceStats(s, [
      { id: "bytes_echoed", label: "bytes echoed", value: s.bytes_echoed, unit: "bytes" },
      { id: "rejected_connections", label: "refused (limit)", value: s.rejected_connections },
      { id: "connection_errors", label: "connection errors", value: s.connection_errors },
    ]),
    charts: [
      gaugeChart("active", "active connections", "count", { active: s.active_connections }),
      rateChart("conn_rate", "connections/s", "count", { accepted: s.total_connections }),
      rateChart("bytes", "bytes/s echoed", "bytes", { echoed: s.bytes_echoed }),
    ],
    tables: [],
    config: { ...config },
  };
}
