/**
 * The side-by-side tables `deno task bench` prints: req/s and p99 per target, ratios against
 * HAProxy and a direct connection, the load tester against the C client, the `/metrics` probe
 * and RSS per idle connection. The goals table is `goals.ts`.
 *
 * @module
 */

import { type EngineName, formatMicros } from "@monkey/shared";
import type { GoalResult } from "./goals.ts";
import type { CostPair } from "./cost_rows.ts";
import type { ProbeResult } from "./metrics_probe.ts";
import type { TlsRow } from "./tls_rows.ts";

/** One target's medians for one scenario. */
export interface BenchCell {
  /** Median requests/s over the repetitions. */
  rps: number;
  /** Median p50 latency, µs. */
  p50_us: number;
  /** Median p99 latency, µs. */
  p99_us: number;
  /** Median of the runs' slowest round trip, µs. */
  max_us: number;
  /** Errors summed over the repetitions. */
  errors: number;
  /** Runs that stayed suspect after retries (see `isSuspectRun` in matrix.ts). @default 0 */
  suspect?: number;
}

/** One scenario across every target. */
export interface BenchRow {
  /** Scenario name. */
  scenario: string;
  /** Connections. */
  connections: number;
  /** Bytes per message. */
  message_size: number;
  /** Medians per target name. */
  cells: Record<string, BenchCell>;
}

/** A test outside the ping-pong matrix (bulk transfer, HTTP): one median value per target. */
export interface BenchExtra {
  /** Stable key the goals look up: "bulk", "http-10", "http-100". */
  id: string;
  /** What was measured. */
  test: string;
  /** Unit of the values. */
  unit: string;
  /** Median value per target name. */
  values: Record<string, number>;
}

/** One client against the C echo server in the load tester check (medians). */
export interface ClientRun {
  /** "pingpong.c" or "load tester (ENGINE)". */
  client: string;
  /** The load tester's engine; absent for the C client. */
  engine?: EngineName;
  /** Requests/s. */
  rps: number;
  /** p50 round trip, µs. */
  p50_us: number;
  /** p99 round trip, µs. */
  p99_us: number;
}

/** Everything the bench prints. */
export interface BenchSummary {
  /** Machine description. */
  machine: { cpu: string; cpus: number; os: string; kernel: string; deno: string; date: string };
  /** What `engine = "auto"` resolves to here, and the engines that ran. */
  engines: { auto: EngineName; available: EngineName[] };
  /** Scenario rows. */
  rows: BenchRow[];
  /** The C client and our load tester on each engine, against the C echo server. */
  clients: ClientRun[];
  /** `GET /metrics` latency under 500-connection ping-pong, per engine. @default [] */
  probes?: ProbeResult[];
  /** The issue's goals, evaluated. @default [] */
  goals?: GoalResult[];
  /** RSS bytes per established idle connection, per target. */
  memory: { target: string; bytes: number }[];
  /** Bulk and HTTP tests. @default [] */
  extra?: BenchExtra[];
  /** TLS termination, ours and the peers. @default [] */
  tls?: TlsRow[];
  /** Feature cost pairs (SNI passthrough, dashboards, limits). @default [] */
  costs?: CostPair[];
  /** Repetitions per cell. */
  reps: number;
  /** Seconds per run. */
  secs: number;
  /** What drove the matrix. @default "1 load-tester worker" (runs saved before it was recorded) */
  client?: string;
}

/**
 * Median of some numbers (mean of the middle two for an even count).
 *
 * @param values Numbers.
 * @returns The median, or NaN for none.
 * @example
 * ```ts
 * median([4, 1, 3, 2]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A ratio as text, e.g. `0.93x`.
 *
 * @param a Numerator.
 * @param b Denominator.
 * @returns Text, or "-" when undefined.
 * @example
 * ```ts
 * ratio(90, 100); // "0.90x"
 * ```
 */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return "-";
  }
  return `${(a / b).toFixed(2)}x`;
}

/** Ratio columns `[numerator, denominator]`; "direct" is whichever direct row there is. */
const RATIO_PAIRS: readonly (readonly [string, string])[] = [
  ["proxy-epoll", "haproxy"],
  ["proxy-deno", "haproxy"],
  ["proxy-epoll", "nginx"],
  ["proxy-epoll", "direct"],
  ["proxy-deno", "proxy-epoll"],
  ["proxy-deno-streams", "proxy-deno"],
  ["proxy-2w", "proxy-epoll"],
  ["lb-epoll", "haproxy"],
  ["lb-deno", "lb-epoll"],
  ["lb-2w", "lb-epoll"],
];

function sizeText(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/**
 * A Markdown table with padded columns.
 *
 * @param header Column titles.
 * @param rows Cells.
 * @returns Text.
 * @example
 * ```ts
 * markdownTable(["a", "b"], [["1", "2"]]);
 * ```
 */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)]
    .join("\n");
}

/**
 * Render the bench results as Markdown tables (readable in a terminal, pasteable in the README).
 *
 * @param summary Results.
 * @returns Text.
 * @example
 * ```ts
 * console.log(renderBench(summary));
 * ```
 */
export function renderBench(summary: BenchSummary): string {
  const targets = [...new Set(summary.rows.flatMap((r) => Object.keys(r.cells)))];
  const out: string[] = [];
  const m = summary.machine;
  out.push(`Machine: ${m.cpu}, ${m.cpus} cores, ${m.os} ${m.kernel}, Deno ${m.deno}; ${m.date}`);
  out.push(
    `Medians of ${summary.reps} run(s) of ${summary.secs}s each, ping-pong, client: ${
      summary.client ?? "1 load-tester worker"
    }.`,
  );
  if (targets.length > 0) out.push("", "Requests/s (p99) per target:");
  if (targets.length > 0) {
    out.push(markdownTable(
      ["Scenario", "Conns", "Size", ...targets],
      summary.rows.map((r) => [
        r.scenario,
        String(r.connections),
        sizeText(r.message_size),
        ...targets.map((t) => {
          const c = r.cells[t];
          if (!c) return "";
          return `${Math.round(c.rps)} (${formatMicros(c.p99_us)})${
            c.errors > 0 ? ` ${c.errors} err` : ""
          }${c.suspect ? ` ${c.suspect} suspect` : ""}`;
        }),
      ]),
    ));
  }
  const direct = targets.find((t) => t.startsWith("direct"));
  const columns = RATIO_PAIRS.map(([a, b]) => [a, b === "direct" ? direct : b] as const)
    .filter((pair): pair is readonly [string, string] =>
      pair[1] !== undefined && targets.includes(pair[0]) && targets.includes(pair[1])
    );
  if (columns.length > 0) {
    out.push("");
    out.push("Ratios (req/s; p99 in brackets, lower is better):");
    out.push(markdownTable(
      ["Scenario", ...columns.map(([a, b]) => `${a}/${b}`)],
      summary.rows.map((r) => [
        r.scenario,
        ...columns.map(([a, b]) =>
          r.cells[a] && r.cells[b]
            ? `${ratio(r.cells[a].rps, r.cells[b].rps)} (${
              ratio(r.cells[a].p99_us, r.cells[b].p99_us)
            })`
            : ""
        ),
      ]),
    ));
  }
  const echoLabels = targets.filter((t) => t.startsWith("echo-"));
  for (const echo of echoLabels) {
    const echoRows = summary.rows.filter((r) => r.cells[echo] && direct && r.cells[direct]);
    if (echoRows.length === 0 || !direct) continue;
    out.push("");
    out.push(
      `Our echo server (${echo}) vs ${direct}: ` +
        echoRows.map((r) => `${r.scenario} ${ratio(r.cells[echo]!.rps, r.cells[direct]!.rps)}`)
          .join(", "),
    );
  }
  if (summary.clients.length > 0) {
    const c = summary.clients.find((x) => x.engine === undefined)?.rps;
    out.push("");
    out.push("Load tester vs the C ping-pong client, against the C echo server:");
    out.push(markdownTable(
      ["Client", "req/s", "p50", "p99", "vs pingpong.c"],
      summary.clients.map((x) => [
        x.client,
        String(Math.round(x.rps)),
        formatMicros(x.p50_us),
        formatMicros(x.p99_us),
        ratio(x.rps, c),
      ]),
    ));
  }
  if ((summary.probes ?? []).length > 0) {
    out.push("");
    out.push("GET /metrics while 500 connections ping-pong 1 KiB through the proxy:");
    out.push(markdownTable(
      ["Proxy engine", "answers", "failed", "p50 ms", "p99 ms", "max ms", "load req/s"],
      summary.probes!.map((p) => [
        p.engine,
        String(p.count),
        String(p.failures),
        p.p50_ms.toFixed(1),
        p.p99_ms.toFixed(1),
        p.max_ms.toFixed(1),
        String(Math.round(p.load_rps)),
      ]),
    ));
  }
  for (const x of summary.extra ?? []) {
    out.push("");
    const names = Object.keys(x.values);
    const base = x.values["haproxy"];
    out.push(`${x.test}, ${x.unit}:`);
    out.push(markdownTable(
      ["Target", x.unit, "vs haproxy"],
      names.map((
        n,
      ) => [n, x.values[n]!.toFixed(x.unit === "req/s" ? 0 : 2), ratio(x.values[n], base)]),
    ));
  }
  if (summary.memory.length > 0) {
    out.push("");
    out.push("RSS per established idle connection (client and upstream both connected):");
    out.push(markdownTable(
      ["Target", "KiB/conn"],
      summary.memory.map((
        x,
      ) => [x.target, Number.isFinite(x.bytes) ? (x.bytes / 1024).toFixed(1) : "-"]),
    ));
  }
  return out.join("\n");
}
