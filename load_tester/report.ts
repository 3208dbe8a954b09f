/**
 * Human and machine reports: the seed's per-scenario report and matrix table, CSV, Markdown
 * and JSON.
 *
 * @module
 */

import { formatMicros } from "@monkey/shared";
import type { Format } from "./config.ts";
import type { BaselineRow } from "./baseline.ts";
import type { RunReport, ScenarioResult } from "./result.ts";
import type { ShardRow } from "./shard.ts";

const MATRIX_HEADER = [
  "Scenario",
  "Conns",
  "MsgSize",
  "Requests",
  "RPS",
  "p50",
  "p95",
  "p99",
  "Err%",
];
const BASELINE_HEADER = ["ΔRPS", "Δp99"];

/**
 * The seed's per-scenario report: duration, connections, requests, requests/s, throughput,
 * latency table, errors.
 *
 * @param result One scenario's result.
 * @returns Multi-line text.
 */
export function formatScenario(result: ScenarioResult): string {
  const l = result.latency_us;
  const protocol = result.protocol ?? "echo";
  const echo = protocol === "echo";
  const pipeline = (result.pipeline ?? 1) > 1 ? `, pipeline ${result.pipeline}` : "";
  const lines = [
    `=== ${result.name} (${result.mode}${echo ? "" : `, ${protocol}`}${pipeline}${
      result.target_rate > 0 ? `, open loop at ${fmtInt(result.target_rate)} req/s` : ""
    }) ===`,
    `  Duration:      ${result.duration_secs.toFixed(2)}s`,
    `  Connections:   ${result.connections}`,
    ...(echo ? [`  Message size:  ${formatSize(result.message_size)}`] : []),
    `  Requests:      ${fmtInt(result.requests)}`,
    ...mixLines(result),
    `  Requests/s:    ${fmtInt(result.rps)}${result.mode === "churn" ? " (connections/s)" : ""}`,
    ...(echo
      ? [
        `  Throughput:    up ${formatSize(result.throughput_up_bps)}/s, down ${
          formatSize(result.throughput_down_bps)
        }/s`,
      ]
      : []),
    ...httpLines(result),
    "  Latency:       min      mean     p50      p90      p95      p99      p99.9    max",
    latencyRow(result.mode === "churn" ? "exchange" : "", l),
  ];
  if (result.uncorrected_latency_us) {
    lines.push(latencyRow("uncorrected", result.uncorrected_latency_us));
  }
  if (result.connect_latency_us) lines.push(latencyRow("connect", result.connect_latency_us));
  const kinds = Object.entries(result.errors.by_kind).filter(([, n]) => n > 0);
  lines.push(
    `  Errors:        ${fmtInt(result.errors.total)} (${pct(result.error_rate)})${
      kinds.length > 0 ? ": " + kinds.map(([k, n]) => `${k} ${n}`).join(", ") : ""
    }`,
  );
  for (const [kind, samples] of Object.entries(result.errors.samples ?? {})) {
    for (const sample of samples) lines.push(`    ${kind}: ${sample}`);
  }
  const hint = notEchoHint(result);
  if (hint !== undefined) lines.push(`  Note:          ${hint}`);
  if ((result.unfinished ?? 0) > 0) {
    lines.push(`  Unfinished:    ${fmtInt(result.unfinished!)} (in flight at the end, not errors)`);
  }
  return lines.join("\n");
}

/**
 * When an echo scenario got no reply matching what it sent (mismatches, timeouts, requests left
 * unanswered), the target is most likely not an echo server: say so and name `--protocol`.
 *
 * @param result A scenario result.
 * @returns The note, or undefined.
 */
export function notEchoHint(result: ScenarioResult): string | undefined {
  if ((result.protocol ?? "echo") !== "echo" || result.requests > 0) return undefined;
  const k = result.errors.by_kind;
  const noEcho = (k["mismatch"] ?? 0) + (k["timeout"] ?? 0) + (k["short_read"] ?? 0) +
    (result.unfinished ?? 0);
  if (noEcho === 0) return undefined;
  return "no reply matched an echo of what was sent: the target does not echo; " +
    "for Redis, HTTP or another protocol use --protocol redis, http or raw";
}

function mixLines(result: ScenarioResult): string[] {
  const mix = result.mix ?? [];
  if (mix.length < 2) return [];
  return mix.map((m) => `    ${fmtInt(m.requests).padStart(10)}  ${m.request}`);
}

function httpLines(result: ScenarioResult): string[] {
  if (result.http_status === undefined) return [];
  const classes = Object.entries(result.http_status).map(([c, n]) => `${c} ${fmtInt(n)}`);
  const codes = Object.entries(result.http_codes ?? {}).map(([c, n]) => `${c} ${fmtInt(n)}`);
  return [
    `  HTTP status:   ${classes.join(", ") || "none"}${
      codes.length > 0 ? ` (${codes.join(", ")})` : ""
    }`,
    `  Reconnects:    ${fmtInt(result.reconnects ?? 0)} (server closed keep-alive connections)`,
  ];
}

function latencyRow(label: string, l: ScenarioResult["latency_us"]): string {
  const cells = [l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max].map((v) =>
    formatMicros(v).padEnd(8)
  );
  return `  ${label.padEnd(13)}  ${cells.join(" ").trimEnd()}`;
}

/** A table row: the cells, and the scenario it belongs to (shard rows: undefined). */
interface TableRow {
  cells: string[];
  scenario: ScenarioResult | undefined;
}

/** The label of a shard's row under its merged scenario row (`↳ shard 0/2`, 0-based). */
function shardLabel(index: number, count: number): string {
  return `↳ shard ${index}/${count}`;
}

function matrixRows(results: readonly ScenarioResult[]): TableRow[] {
  return results.flatMap((r) => [
    {
      scenario: r,
      cells: [
        r.name,
        String(r.connections),
        (r.protocol ?? "echo") === "echo" ? formatSize(r.message_size) : r.protocol!,
        fmtInt(r.requests),
        fmtInt(r.rps),
        formatMicros(r.latency_us.p50),
        formatMicros(r.latency_us.p95),
        formatMicros(r.latency_us.p99),
        pct(r.error_rate),
      ],
    },
    ...(r.shards ?? []).map((row) => ({
      scenario: undefined,
      cells: [
        shardLabel(row.index, row.count),
        String(row.connections),
        "",
        fmtInt(row.requests),
        fmtInt(row.rps),
        formatMicros(row.p50_us),
        formatMicros(row.p95_us),
        formatMicros(row.p99_us),
        pct(shardErrorRate(row)),
      ],
    })),
  ]);
}

/** A shard row's error rate: errors / (requests + errors), like a scenario's. */
function shardErrorRate(row: ShardRow): number {
  const attempts = row.requests + row.errors;
  return attempts === 0 ? 0 : row.errors / attempts;
}

function withBaseline(
  header: string[],
  rows: TableRow[],
  baseline: readonly BaselineRow[] | undefined,
): [string[], string[][]] {
  if (baseline === undefined) return [header, rows.map((r) => r.cells)];
  const byName = new Map(baseline.map((b) => [b.name, b]));
  return [
    [...header, ...BASELINE_HEADER],
    rows.map(({ cells, scenario }) => {
      if (scenario === undefined) return [...cells, "", ""];
      const b = byName.get(scenario.name);
      return [
        ...cells,
        b === undefined ? "new" : signed(b.rps_change_pct),
        b === undefined ? "" : signed(b.p99_change_pct),
      ];
    }),
  ];
}

/**
 * The seed's matrix table: Scenario, Conns, MsgSize, Requests, RPS, p50, p95, p99, Err%
 * (plus ΔRPS and Δp99 with a baseline).
 *
 * @param results Scenario results.
 * @param baseline Comparison rows from {@linkcode compareWithBaseline}.
 * @returns An aligned text table.
 */
export function formatMatrixTable(
  results: readonly ScenarioResult[],
  baseline?: readonly BaselineRow[],
): string {
  const [header, rows] = withBaseline(MATRIX_HEADER, matrixRows(results), baseline);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/**
 * The matrix table as Markdown.
 *
 * @param results Scenario results.
 * @param baseline Comparison rows.
 * @returns A GitHub-flavoured Markdown table.
 */
export function formatMarkdown(
  results: readonly ScenarioResult[],
  baseline?: readonly BaselineRow[],
): string {
  const [header, rows] = withBaseline(MATRIX_HEADER, matrixRows(results), baseline);
  const row = (cells: string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  const align = header.map((_, c) => (c === 0 ? "---" : "---:"));
  return [row(header), row(align), ...rows.map(row)].join("\n");
}

const CSV_HEADER = [
  "scenario",
  "mode",
  "connections",
  "message_size",
  "duration_secs",
  "requests",
  "rps",
  "p50_us",
  "p95_us",
  "p99_us",
  "p999_us",
  "max_us",
  "errors",
  "error_rate",
];

/**
 * The matrix as CSV with raw numbers (latencies in µs). A merge of shards adds the column
 * `shard`: empty on a scenario's merged row, `I/N` on each shard's row under it.
 *
 * @param results Scenario results.
 * @param baseline Comparison rows (adds rps_change_pct and p99_change_pct).
 * @returns CSV text with a header row.
 */
export function formatCsv(
  results: readonly ScenarioResult[],
  baseline?: readonly BaselineRow[],
): string {
  const byName = new Map((baseline ?? []).map((b) => [b.name, b]));
  const sharded = results.some((r) => (r.shards?.length ?? 0) > 0);
  const header = [
    ...CSV_HEADER,
    ...(baseline ? ["rps_change_pct", "p99_change_pct"] : []),
    ...(sharded ? ["shard"] : []),
  ];
  const rows = results.flatMap((r) => {
    const cells: (string | number)[] = [
      r.name,
      r.mode,
      r.connections,
      r.message_size,
      r.duration_secs,
      r.requests,
      r.rps,
      r.latency_us.p50,
      r.latency_us.p95,
      r.latency_us.p99,
      r.latency_us.p999,
      r.latency_us.max,
      r.errors.total,
      r.error_rate,
    ];
    if (baseline) {
      const b = byName.get(r.name);
      cells.push(b?.rps_change_pct ?? "", b?.p99_change_pct ?? "");
    }
    if (sharded) cells.push("");
    const shardRows = (r.shards ?? []).map((row) => [
      r.name,
      r.mode,
      row.connections,
      r.message_size,
      row.duration_secs,
      row.requests,
      row.rps,
      row.p50_us,
      row.p95_us,
      row.p99_us,
      row.p999_us,
      row.max_us,
      row.errors,
      Math.round(shardErrorRate(row) * 1e6) / 1e6,
      ...(baseline ? ["", ""] : []),
      `${row.index}/${row.count}`,
    ]);
    return [cells, ...shardRows].map((c) => c.map(csvCell).join(","));
  });
  return [header.join(","), ...rows].join("\n");
}

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The whole report in the chosen format.
 *
 * @param report The run.
 * @param format table, json, csv or markdown.
 * @param options `matrix`: print the matrix table after the per-scenario reports (table
 *   format); `baseline`: comparison rows.
 * @returns Text ending with a newline.
 */
export function formatReport(
  report: RunReport,
  format: Format,
  options: { matrix?: boolean; baseline?: readonly BaselineRow[] } = {},
): string {
  const { scenarios } = report;
  switch (format) {
    case "json":
      return JSON.stringify(report, null, 2) + "\n";
    case "csv":
      return formatCsv(scenarios, options.baseline) + "\n";
    case "markdown":
      return formatMarkdown(scenarios, options.baseline) + "\n";
    case "table": {
      const parts = scenarios.map(formatScenario);
      if (options.matrix || options.baseline || scenarios.length > 1) {
        parts.push(`Target: ${report.target}\n\n${formatMatrixTable(scenarios, options.baseline)}`);
      }
      return parts.join("\n\n") + "\n";
    }
  }
}

const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
const KIB = 1024;

/**
 * A byte count in the units `--size` takes: `64B`, `1KiB`, `1.5KiB`, `64KiB`, `16.8MiB`.
 *
 * @param bytes Bytes.
 * @returns The text (whole numbers without decimals).
 * @example
 * ```ts
 * formatSize(1024); // "1KiB"
 * ```
 */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= KIB && unit < SIZE_UNITS.length - 1) {
    value /= KIB;
    unit++;
  }
  const text = unit === 0 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
  return `${text}${SIZE_UNITS[unit]}`;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}

function signed(n: number): string {
  return `${n >= 0 ? "+" : ""}${n.toFixed(1)}%`;
}
