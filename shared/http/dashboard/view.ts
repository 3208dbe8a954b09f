/**
 * What a dashboard update carries: the service's numbers as stats, chart samples and tables.
 * The page is generic; each service describes its numbers with these types.
 *
 * @module
 */

/**
 * How a number is shown, as the `[METRICS]` line does: `count` (1234), `bytes` (1.5MB),
 * `us` (850µs, 1.25ms), `ms`, `secs` (uptime), `percent`, `text` (as is).
 */
export type DashUnit = "count" | "bytes" | "us" | "ms" | "secs" | "percent" | "text";

/** One headline number. */
export interface DashStat {
  /** Stable id (the page's `data-stat` attribute; tests read it). */
  id: string;
  /** Label shown. */
  label: string;
  /** The value (raw; the page formats it by `unit`). */
  value: number | string | boolean | null;
  /** How to format it. @default "count" */
  unit?: DashUnit;
}

/** One chart's sample for this update: a value per series. */
export interface DashChart {
  /** Stable id. */
  id: string;
  /** Title shown. */
  title: string;
  /** Unit of the values (a `rate` chart shows it per second). */
  unit: DashUnit;
  /**
   * `rate`: the values are counters and the page plots their change per second; `gauge`:
   * plotted as they are.
   */
  kind: "rate" | "gauge";
  /** Series label to value; a series that appears later is added to the chart. */
  series: Record<string, number | null>;
  /** Logarithmic y axis. @default false */
  log?: boolean;
}

/** One column of a table. */
export interface DashColumn {
  /** Key in each row. */
  key: string;
  /** Header shown. */
  label: string;
  /** How to format it. @default "text" */
  unit?: DashUnit;
}

/** A table (clients, backends, scenarios, errors by kind). */
export interface DashTable {
  /** Stable id. */
  id: string;
  /** Title shown. */
  title: string;
  /** Columns in order. */
  columns: DashColumn[];
  /** Rows; cells are looked up by column key. */
  rows: Record<string, string | number | boolean | null>[];
  /**
   * `backends`: rows are load balancer backends keyed by `addr`; once the user enters the admin
   * token the page offers drain, enable, remove and weight through the admin API.
   */
  actions?: "backends";
}

/** One update of a dashboard. */
export interface DashboardView {
  /** Heading, e.g. `proxy 127.0.0.1:3000 → 127.0.0.1:8081`. */
  title: string;
  /** Headline numbers. */
  stats: DashStat[];
  /** Chart samples. */
  charts: DashChart[];
  /** Tables. */
  tables: DashTable[];
  /** The effective configuration, shown as key = value. */
  config?: Record<string, unknown>;
}

/**
 * A chart of counters: the page plots each series' change per second.
 *
 * @param id Stable id.
 * @param title Title shown.
 * @param unit Unit of the counted values.
 * @param series Series label to counter value.
 * @returns The chart sample.
 * @example
 * ```ts
 * const chart = rateChart("conn_rate", "connections/s", "count", { accepted: 1200 });
 * ```
 */
export function rateChart(
  id: string,
  title: string,
  unit: DashUnit,
  series: Record<string, number | null>,
): DashChart {
  return { id, title, unit, kind: "rate", series };
}

/**
 * A chart of gauges: the page plots the values as they are.
 *
 * @param id Stable id.
 * @param title Title shown.
 * @param unit Unit of the values.
 * @param series Series label to value.
 * @param log Logarithmic y axis. @default false
 * @returns The chart sample.
 * @example
 * ```ts
 * const chart = gaugeChart("active", "active connections", "count", { active: 12 });
 * ```
 */
export function gaugeChart(
  id: string,
  title: string,
  unit: DashUnit,
  series: Record<string, number | null>,
  log = false,
): DashChart {
  return log
    ? { id, title, unit, kind: "gauge", series, log }
    : { id, title, unit, kind: "gauge", series };
}

/** The numbers every TCP service's dashboard leads and ends with. */
export interface ServiceStatsSource {
  /** Connections open now. */
  active_connections: number;
  /** Connections accepted since start. */
  total_connections: number;
  /** The I/O engine as shown. */
  engine: string;
  /** Seconds since start. */
  uptime_secs: number;
}

/**
 * A service's headline numbers: active and total connections, then the service's own, then
 * the engine and the uptime.
 *
 * @param s The snapshot.
 * @param own The service's own stats, shown between.
 * @param engineLabel The engine stat's label.
 * @returns The stats, in order.
 * @example
 * ```ts
 * const stats = serviceStats(snapshot, [{ id: "retries", label: "retries", value: 3 }]);
 * ```
 */
export function serviceStats(
  s: ServiceStatsSource,
  own: readonly DashStat[],
  engineLabel = "engine",
): DashStat[] {
  return [
    { id: "active_connections", label: "active connections", value: s.active_connections },
    { id: "total_connections", label: "total connections", value: s.total_connections },
    ...own,
    { id: "engine", label: engineLabel, value: s.engine, unit: "text" },
    { id: "uptime_secs", label: "uptime", value: s.uptime_secs, unit: "secs" },
  ];
}
