/**
 * What the load tester's live dashboard (`--metrics ADDR`, then `/dashboard`) shows: progress
 * per scenario, requests/s, p50/p90/p99/max of each second over time, errors by kind.
 *
 * @module
 */

import { type DashboardView, gaugeChart, rateChart } from "@monkey/shared";
import type { LiveStatus } from "./runner.ts";
import type { SecondSample } from "./series.ts";

/**
 * One dashboard update of a run.
 *
 * @param scenarios Finished scenarios, then the running one (as in the JSON metrics).
 * @param running Whether the last entry is still running.
 * @param samples The running scenario's per-second samples so far.
 * @returns The view.
 * @example
 * ```ts
 * const view = loadDashboardView(statuses, true, recorder.samples);
 * ```
 */
export function loadDashboardView(
  scenarios: readonly LiveStatus[],
  running: boolean,
  samples: readonly SecondSample[],
): DashboardView {
  const current = running ? scenarios.at(-1) : undefined;
  const last = running ? samples.at(-1) : undefined;
  const errorsByKind: Record<string, number> = {};
  for (const s of scenarios) {
    for (const [kind, n] of Object.entries(s.errors)) {
      errorsByKind[kind] = (errorsByKind[kind] ?? 0) + n;
    }
  }
  const totalErrors = Object.values(errorsByKind).reduce((a, b) => a + b, 0);
  const progress = current && current.duration_secs > 0
    ? Math.min(1, current.elapsed_secs / current.duration_secs)
    : null;
  return {
    title: current
      ? `load test: ${current.scenario}${current.warming_up ? " (warming up)" : ""}`
      : `load test (${scenarios.length} scenario${scenarios.length === 1 ? "" : "s"} done)`,
    stats: [
      { id: "scenario", label: "scenario", value: current?.scenario ?? "–", unit: "text" },
      { id: "progress", label: "progress", value: progress, unit: "percent" },
      { id: "requests", label: "requests (this scenario)", value: current?.requests ?? null },
      { id: "rps", label: "requests/s (last second)", value: last?.rps ?? null },
      { id: "p50", label: "p50 (last second)", value: last?.p50 ?? null, unit: "us" },
      { id: "p99", label: "p99 (last second)", value: last?.p99 ?? null, unit: "us" },
      { id: "max", label: "max (last second)", value: last?.max ?? null, unit: "us" },
      { id: "errors", label: "errors (all scenarios)", value: totalErrors },
    ],
    charts: [
      gaugeChart("rps", "requests/s", "count", { "req/s": last?.rps ?? null }),
      gaugeChart("latency", "latency of each second", "us", {
        p50: positive(last?.p50),
        p90: positive(last?.p90),
        p99: positive(last?.p99),
        max: positive(last?.max),
      }, true),
      rateChart("errors", "errors/s by kind", "count", errorsByKind),
    ],
    tables: [{
      id: "scenarios",
      title: "scenarios",
      columns: [
        { key: "scenario", label: "scenario" },
        { key: "state", label: "state" },
        { key: "progress", label: "progress", unit: "percent" },
        { key: "elapsed_secs", label: "elapsed", unit: "secs" },
        { key: "requests", label: "requests", unit: "count" },
        { key: "rps", label: "req/s (avg)", unit: "count" },
        { key: "p50", label: "p50", unit: "us" },
        { key: "p99", label: "p99", unit: "us" },
        { key: "max", label: "max", unit: "us" },
        { key: "errors", label: "errors", unit: "count" },
      ],
      rows: scenarios.map((s, i) => {
        const live = running && i === scenarios.length - 1;
        return {
          scenario: s.scenario,
          state: live ? (s.warming_up ? "warming up" : "running") : "done",
          progress: s.duration_secs > 0 ? Math.min(1, s.elapsed_secs / s.duration_secs) : 1,
          elapsed_secs: s.elapsed_secs,
          requests: s.requests,
          rps: s.elapsed_secs > 0 ? Math.round(s.requests / s.elapsed_secs) : 0,
          p50: s.latency.p50,
          p99: s.latency.p99,
          max: s.latency.max,
          errors: Object.values(s.errors).reduce((a, b) => a + b, 0),
        };
      }),
    }],
  };
}

/** A log axis cannot show 0: no sample is drawn instead. */
function positive(value: number | undefined): number | null {
  return value !== undefined && value > 0 ? value : null;
}
