/**
 * `--report FILE.html`: one self-contained HTML file (uPlot inlined with its licence, no
 * request leaves it, works from `file://`): the per-scenario table, the latency percentile
 * distribution on a logarithmic percentile axis (the HdrHistogram plot), requests/s and
 * p50/p99 per second over the run, errors by kind, and a baseline's curves overlaid.
 *
 * @module
 */

import {
  DASHBOARD_CSS,
  escapeHtml,
  FORMAT_JS,
  htmlStart,
  UPLOT_CSS,
  UPLOT_JS,
} from "@monkey/shared/http";
import { decodeHistogram } from "./histogram.ts";
import type { RunReport, ScenarioResult } from "./result.ts";
import type { SecondSample } from "./series.ts";
import reportJs from "./report_client.js" with { type: "text" };

/** Points per decade of the percentile axis (1/(1-p) from 1 to 10^7). */
const POINTS_PER_DECADE = 20;
/** Deepest percentile plotted: 99.99999% (1/(1-p) = 10^7). */
const MAX_DECADES = 7;

/** One latency distribution: x is 1/(1-p) (1 = 0%, 10 = 90%, 100 = 99%), y µs. */
export interface PercentileCurve {
  /** 1 / (1 - percentile/100), increasing. */
  x: number[];
  /** Latency at that percentile, µs. */
  y: number[];
}

/** What the page script gets for one scenario. */
export interface ReportScenario {
  /** The result, without its encoded histograms. */
  result: Omit<ScenarioResult, "histogram" | "uncorrected_histogram" | "connect_histogram">;
  /** Its percentile distribution. */
  curve: PercentileCurve;
  /** The baseline's scenario of the same name, if any. */
  baseline?: {
    /** Baseline requests/s. */
    rps: number;
    /** Baseline latency summary. */
    latency_us: ScenarioResult["latency_us"];
    /** Baseline percentile distribution. */
    curve: PercentileCurve;
    /** Baseline per-second series. */
    series?: SecondSample[];
  };
}

/** Options for {@linkcode reportHtml}. */
export interface ReportHtmlOptions {
  /** A previous run to overlay. */
  baseline?: RunReport;
}

/**
 * The percentile distribution of an encoded histogram, for a log percentile axis.
 *
 * @param encoded HdrHistogram compressed base64.
 * @returns Points from 0% up to the last recorded sample.
 * @throws {Error} When the histogram cannot be decoded.
 * @example
 * ```ts
 * const curve = percentileCurve(result.histogram);
 * ```
 */
export function percentileCurve(encoded: string): PercentileCurve {
  const h = decodeHistogram(encoded);
  const curve: PercentileCurve = { x: [], y: [] };
  if (h.totalCount === 0) return curve;
  for (let i = 0; i <= MAX_DECADES * POINTS_PER_DECADE; i++) {
    const x = 10 ** (i / POINTS_PER_DECADE);
    const percentile = 100 * (1 - 1 / x);
    curve.x.push(Math.round(x * 1000) / 1000);
    curve.y.push(h.getValueAtPercentile(percentile));
    // Past the last sample the curve is flat at max: one point beyond is enough.
    if (x > h.totalCount) break;
  }
  return curve;
}

/**
 * Build the self-contained HTML report of a run.
 *
 * @param report The run (or merged runs).
 * @param options A baseline to overlay.
 * @returns The HTML document.
 * @throws {Error} When a histogram in the report cannot be decoded.
 * @example
 * ```ts
 * await Deno.writeTextFile("report.html", reportHtml(report));
 * ```
 */
export function reportHtml(report: RunReport, options: ReportHtmlOptions = {}): string {
  const previous = new Map(options.baseline?.scenarios.map((s) => [s.name, s]) ?? []);
  const scenarios: ReportScenario[] = report.scenarios.map((s) => {
    const { histogram, uncorrected_histogram: _u, connect_histogram: _c, ...result } = s;
    const entry: ReportScenario = { result, curve: percentileCurve(histogram) };
    const before = previous.get(s.name);
    if (before) {
      entry.baseline = {
        rps: before.rps,
        latency_us: before.latency_us,
        curve: percentileCurve(before.histogram),
        ...(before.series ? { series: before.series } : {}),
      };
    }
    return entry;
  });
  const data = {
    target: report.target,
    started_at: report.started_at,
    tool_version: report.tool_version,
    machine: report.machine,
    baseline: options.baseline
      ? { started_at: options.baseline.started_at, target: options.baseline.target }
      : null,
    scenarios,
  };
  const title = `load test ${report.target} ${report.started_at}`;
  return `${
    htmlStart(title)
  }<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>${UPLOT_CSS}</style>
<style>${DASHBOARD_CSS}</style>
<style>tr.shard td { opacity: 0.75; }</style>
</head>
<body>
<header><h1>Load test report</h1><span id="status"></span></header>
<section id="summary" class="panel"></section>
<section class="table"><h2>Scenarios</h2><div class="scroll"><table id="scenarios"></table></div></section>
<section class="charts" id="overview"></section>
<section id="details"></section>
<footer>Made by monkey-d-tcp load tester ${escapeHtml(report.tool_version)}. Self-contained:
works offline. Charts by uPlot (MIT licence, in this file).</footer>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${scriptSafe(UPLOT_JS)}</script>
<script>${scriptSafe(FORMAT_JS)}\n${scriptSafe(reportJs)}</script>
</body>
</html>
`;
}

/** JSON that cannot end its `<script>` element early. */
function jsonForScript(data: unknown): string {
  return JSON.stringify(data).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

/** Script text that cannot end its `<script>` element early. */
function scriptSafe(js: string): string {
  return js.replace(/<\/script/gi, "<\\/script");
}
