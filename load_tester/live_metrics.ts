/**
 * `--metrics ADDR`: the run's live counters and latency on the shared Hono endpoint
 * (Prometheus text and JSON).
 *
 * @module
 */

import {
  createMetricsApp,
  type HttpApp,
  type HttpEndpoint,
  type Labels,
  type Logger,
  Registry,
  startEndpoint,
} from "@monkey/shared";
import { loadDashboardView } from "./live_dashboard.ts";
import type { LiveStatus } from "./runner.ts";
import type { ScenarioResult } from "./result.ts";
import type { SecondSample } from "./series.ts";

const QUANTILES: ReadonlyArray<readonly [string, keyof LiveStatus["latency"]]> = [
  ["0.5", "p50"],
  ["0.9", "p90"],
  ["0.95", "p95"],
  ["0.99", "p99"],
  ["0.999", "p999"],
  ["1", "max"],
];

const LATENCY = "monkey_load_latency_seconds";
const US_PER_SECOND = 1_000_000;

function seconds(micros: number): string {
  return String(micros / US_PER_SECOND);
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/**
 * The live metrics' HTTP app (a Hono app) as callers use it: in process without a socket, or as
 * a `Deno.serve` handler.
 */
export interface LiveMetricsApp {
  /**
   * Answer a request in process, e.g. `app.request("/metrics")`.
   *
   * @param input A path (or URL, or request).
   * @param init Method, headers and body.
   * @returns The response.
   */
  request(input: string | URL | Request, init?: RequestInit): Response | Promise<Response>;
  /**
   * Answer a request (the `Deno.serve` handler shape).
   *
   * @param request The request.
   * @returns The response.
   */
  fetch(request: Request): Response | Promise<Response>;
}

/**
 * Live metrics of a run: finished scenarios' totals plus the running scenario's status.
 *
 * @example
 * ```ts
 * const live = new LiveMetrics();
 * const text = await (await live.app.request("/metrics")).text(); // monkey_load_* families
 * ```
 */
export class LiveMetrics {
  readonly #registry = new Registry();
  #current: (() => LiveStatus) | undefined;
  #samples: () => readonly SecondSample[] = () => [];
  #finished: ScenarioResult[] = [];
  readonly #app: HttpApp;

  /** Register the metric families and build the app. */
  constructor() {
    const r = this.#registry;
    r.collect(
      "monkey_load_requests_total",
      "Requests completed and verified, per scenario",
      "counter",
      () => this.#all().map((s): [Labels, number] => [{ scenario: s.scenario }, s.requests]),
    );
    r.collect(
      "monkey_load_errors_total",
      "Errors per scenario and kind",
      "counter",
      () =>
        this.#all().flatMap((s) =>
          Object.entries(s.errors).map(([kind, n]): [Labels, number] => [
            { scenario: s.scenario, kind },
            n,
          ])
        ),
    );
    r.collect(
      "monkey_load_elapsed_seconds",
      "Measured seconds so far, per scenario",
      "gauge",
      () => this.#all().map((s): [Labels, number] => [{ scenario: s.scenario }, s.elapsed_secs]),
    );
    this.#app = createMetricsApp({
      service: "load-tester",
      prometheus: () => r.render() + this.#latencySummary(),
      snapshot: () => ({ scenarios: this.#all() }),
      healthy: () => true,
      dashboard: {
        view: () => loadDashboardView(this.#all(), this.#current !== undefined, this.#samples()),
      },
    });
  }

  /** The app serving `/metrics`, `/metrics?format=json`, `/health`. */
  get app(): LiveMetricsApp {
    return this.#app;
  }

  /**
   * Serve the app on `metricsAddr` (what `--metrics ADDR` does).
   *
   * @param metricsAddr `host:port` (port 0: any free port), or `off`.
   * @param logger Where a warning for a non-loopback address goes.
   * @returns The endpoint (its `addr` is the bound address), or undefined when `off`.
   * @throws {ServiceError} When the address cannot be bound.
   */
  serve(metricsAddr: string, logger: Logger): HttpEndpoint | undefined {
    return startEndpoint(this.#app, metricsAddr, logger);
  }

  /**
   * A scenario started.
   *
   * @param status Its live status.
   * @param samples Its per-second samples so far (for the dashboard's charts).
   */
  start(status: () => LiveStatus, samples?: () => readonly SecondSample[]): void {
    this.#current = status;
    if (samples) this.#samples = samples;
  }

  /**
   * A scenario finished.
   *
   * @param result Its result.
   */
  end(result: ScenarioResult): void {
    this.#current = undefined;
    this.#finished.push(result);
  }

  /**
   * Latency as a Prometheus summary in seconds: quantiles of the run's HdrHistogram so far,
   * `_sum` (mean x count) and `_count` (completed requests). The registry has no summary type, so
   * the family is rendered here.
   */
  #latencySummary(): string {
    const all = this.#all();
    if (all.length === 0) return "";
    const lines = [
      `# HELP ${LATENCY} Request latency so far, seconds (quantiles from an HdrHistogram)`,
      `# TYPE ${LATENCY} summary`,
    ];
    for (const s of all) {
      const scenario = `scenario="${escapeLabel(s.scenario)}"`;
      for (const [q, key] of QUANTILES) {
        lines.push(`${LATENCY}{${scenario},quantile="${q}"} ${seconds(s.latency[key])}`);
      }
      lines.push(`${LATENCY}_sum{${scenario}} ${seconds(s.latency.mean * s.requests)}`);
      lines.push(`${LATENCY}_count{${scenario}} ${s.requests}`);
    }
    return lines.join("\n") + "\n";
  }

  #all(): LiveStatus[] {
    const done: LiveStatus[] = this.#finished.map((r) => ({
      scenario: r.name,
      elapsed_secs: r.duration_secs,
      duration_secs: r.duration_secs,
      warming_up: false,
      requests: r.requests,
      errors: r.errors.by_kind,
      latency: r.latency_us,
    }));
    if (this.#current) done.push(this.#current());
    return done;
  }
}
