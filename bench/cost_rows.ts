/**
 * What a feature costs when it is on: pairs of runs, without and with, back to back in every
 * repetition, 1 KiB ping-pong on 10 connections, the services on `engine = "auto"`:
 *
 * - `sni`: the load balancer with an `sni` route (it reads the ClientHello, picks the pool,
 *   then relays) against the same balancer with no routes, a TLS echo server behind both and
 *   the client speaking TLS end to end through both;
 * - `dashboards`: one proxy with its HTTP endpoint on, without and with 10 dashboards open
 *   (10 server-sent event streams on `/events`, each receiving its update every second);
 * - `limits`: the proxy with per-client limits far above what the run reaches, against the
 *   proxy without limits;
 * - `control`: the proxy against an identical proxy: the ratio the method reports when nothing
 *   differs, i.e. its resolution on this machine.
 *
 * Every repetition starts both sides afresh, in one process (two instances side by side, or the
 * one proxy without and with its dashboards open), and runs them back to back, the order
 * alternating; the pair's ratio is the median of the per-repetition ratios (so neither a
 * shared machine's slow drifts nor one process's own speed pass for the feature's cost). The
 * plain pairs are driven by the C client when it is built, the TLS pair by our load tester. The serving
 * process's CPU time per request is shown beside it (Linux: `/proc/PID/stat`): a cost the
 * throughput may not show when the service is not the bottleneck.
 *
 * @module
 */

import { type ClientTlsSettings, runScenario } from "@monkey/load-tester";
import type { EngineName } from "@monkey/shared";
import type { BenchOptions } from "./args.ts";
import { isSuspectRun, RUN_TIMEOUT_SECS, runPingpongScenario, SUSPECT_RETRIES } from "./matrix.ts";
import { startServe } from "./ours.ts";
import { type BenchTarget, cpuSecs, type ProcessGroup } from "./process_group.ts";
import { openDashboards } from "./dashboards.ts";
import { markdownTable, median } from "./table.ts";
import { benchClientTls, rowScenario, startAuto, startAutoPair } from "./tls_rows.ts";

/** Fewest repetitions of the cost pairs in a full run. */
export const COST_REPS = 9;
/** How many dashboards the `dashboards` pair opens. */
export const DASHBOARDS = 10;
/** Per-client limits of the `limits` pair: far above one client's 10 connections. */
export const UNREACHED_LIMITS = {
  max_connections_per_client: 1000,
  max_conn_rate_per_client: 1000,
  max_conn_burst_per_client: 1000,
} as const;

/** One pair, measured. */
export interface CostPair {
  /** `sni`, `dashboards` or `limits`: the goals find pairs by it. */
  id: string;
  /** What is compared. */
  case: string;
  /** What `auto` resolved to: the engine the goal is judged for. */
  engine: EngineName;
  /** The engine the services' banners name. */
  engine_label: string;
  /** Row name without the feature. */
  base: string;
  /** Row name with it. */
  variant: string;
  /** Median req/s without. */
  base_rps: number;
  /** Median req/s with. */
  variant_rps: number;
  /** Median of the per-repetition ratios variant / base. */
  ratio: number;
  /** The serving process's CPU µs per request without (median); absent off Linux. */
  base_cpu_us?: number;
  /** The same with the feature on. */
  variant_cpu_us?: number;
  /** Errors over all runs of both rows. */
  errors: number;
}

/**
 * The LB config of the `sni` pair: an `sni = "localhost"` route to a pool holding the same
 * backend as the default pool.
 *
 * @param backend The TLS echo server.
 * @returns TOML text.
 * @example
 * ```ts
 * Deno.writeTextFileSync("lb.toml", sniRouteConfig("127.0.0.1:8443"));
 * ```
 */
export function sniRouteConfig(backend: string): string {
  return [
    "[[backends]]",
    `addr = "${backend}"`,
    "[pools.sni]",
    "[[pools.sni.backends]]",
    `addr = "${backend}"`,
    "[[routes]]",
    'sni = "localhost"',
    'pool = "sni"',
    "",
  ].join("\n");
}

/** One run of one side of a pair. */
interface CostSample {
  rps: number;
  errors: number;
  /** The serving process's CPU µs per request; undefined off Linux. */
  cpuUs: number | undefined;
}

/** What one repetition of a pair started: fresh processes, closed at the end of it. */
interface PairRun {
  base: BenchTarget;
  variant: BenchTarget;
  /** Before the variant's run (e.g. open the dashboards). */
  open?: () => Promise<void>;
  /** After it. */
  close?: () => Promise<void>;
}

/** A pair: what it compares, and how to start both sides afresh. */
interface PairSpec {
  id: string;
  case: string;
  base: string;
  variant: string;
  /** The client speaks TLS end to end (our load tester then, the C client cannot). */
  tls?: ClientTlsSettings;
  start(): Promise<PairRun>;
}

/**
 * Repetitions of the cost pairs: at least {@linkcode COST_REPS} (a few percent is what they
 * judge, and both a run and a process carry about that much noise here), `--reps` with
 * `--quick`.
 *
 * @param options The bench's options.
 * @returns How many repetitions.
 * @example
 * ```ts
 * costReps(parseBenchArgs([])); // 9
 * ```
 */
export function costReps(options: BenchOptions): number {
  return options.quick ? options.reps : Math.max(options.reps, COST_REPS);
}

/**
 * One measured run against `target`: the C client when built and the pair is plain TCP (its
 * own run-to-run spread is a third of our load tester's), else our load tester. CPU is read
 * around the measured part only.
 */
async function measure(
  target: BenchTarget,
  spec: PairSpec,
  options: BenchOptions,
  pingpong: string | undefined,
): Promise<CostSample> {
  const { secs } = options;
  const scenario = rowScenario("cost-1k-10", options);
  if (pingpong !== undefined && spec.tls === undefined) {
    let cpu0: number | undefined;
    const run = await runPingpongScenario(pingpong, target.addr, scenario, async () => {
      cpu0 = await cpuSecs(target.pid);
    });
    const cpu1 = await cpuSecs(target.pid);
    return {
      rps: run.rps,
      errors: run.errors.total,
      cpuUs: cpuPerRequest(cpu0, cpu1, run.requests),
    };
  }
  for (let attempt = 0;; attempt++) {
    const cpu0 = await cpuSecs(target.pid);
    const started = performance.now();
    const result = await runScenario(scenario, {
      target: target.addr,
      timeout_secs: RUN_TIMEOUT_SECS,
      engine: options.clientEngine,
      tls: spec.tls,
    });
    const elapsed = performance.now() - started;
    const cpu1 = await cpuSecs(target.pid);
    if (attempt < SUSPECT_RETRIES && isSuspectRun(result, secs)) continue;
    // Warmup and connects count too: requests estimated at the measured rate.
    const requests = result.rps * elapsed / 1000;
    return {
      rps: result.rps,
      errors: result.errors.total,
      cpuUs: cpuPerRequest(cpu0, cpu1, requests),
    };
  }
}

function cpuPerRequest(
  cpu0: number | undefined,
  cpu1: number | undefined,
  requests: number,
): number | undefined {
  if (cpu0 === undefined || cpu1 === undefined || !(requests > 0)) return undefined;
  return ((cpu1 - cpu0) * 1e6) / requests;
}

/**
 * Run the four pairs. Every repetition starts both sides afresh in one process (a process
 * keeps its own speed for its life, up to 15% either way here, which two processes would
 * report as the feature's cost; two instances in one process share it), runs them back to
 * back, the order alternating, and stops them.
 *
 * @param group Process tracking.
 * @param backend The plain echo backend (dashboards and limits pairs).
 * @param auto What `engine = "auto"` resolves to here.
 * @param options Repetitions, seconds, client engine.
 * @param pingpong The C client, when built: the client of the plain pairs.
 * @returns One entry per pair: `sni`, `dashboards`, `limits`, `control`.
 * @example
 * ```ts
 * const pairs = await costPairs(group, backend, "epoll", parseBenchArgs(["--quick"]));
 * ```
 */
export async function costPairs(
  group: ProcessGroup,
  backend: BenchTarget,
  auto: EngineName,
  options: BenchOptions,
  pingpong?: string,
): Promise<CostPair[]> {
  const tlsEcho = await startServe(group, "tls-echo", "tls-echo", []);
  try {
    const config = `${group.tempDir()}/lb-sni.toml`;
    Deno.writeTextFileSync(config, sniRouteConfig(tlsEcho.addr));
    let updates = 0;
    // Two proxies in front of the backend in one process, the second with `extra` options.
    const proxyPair =
      (base: string, variant: string, extra: Record<string, number>) => async () => {
        const target = { target_addr: backend.addr };
        const [a, b] = await startAutoPair(group, "proxy", [base, target], [variant, {
          ...target,
          ...extra,
        }]);
        return { base: a, variant: b };
      };
    const specs: PairSpec[] = [
      {
        id: "sni",
        case: "SNI passthrough: LB with an sni route vs no routes, TLS end to end",
        base: "lb-tls-pass",
        variant: "lb-sni-route",
        tls: benchClientTls(),
        start: async () => {
          const [base, variant] = await startAutoPair(
            group,
            "lb",
            ["lb-tls-pass", { backend: tlsEcho.addr }],
            ["lb-sni-route", { config }],
          );
          return { base, variant };
        },
      },
      {
        id: "dashboards",
        case: `${DASHBOARDS} open dashboards (SSE on /events) vs none, proxy`,
        base: "proxy+endpoint",
        variant: `proxy+${DASHBOARDS}-dashboards`,
        start: async () => {
          const base = await startAuto(group, "proxy+endpoint", "proxy", {
            target_addr: backend.addr,
            metrics_addr: "127.0.0.1:0",
          });
          let open: Awaited<ReturnType<typeof openDashboards>> | undefined;
          return {
            base,
            variant: { ...base, name: `proxy+${DASHBOARDS}-dashboards`, stop: async () => {} },
            open: async () => void (open = await openDashboards(base.metricsAddr!, DASHBOARDS)),
            close: async () => {
              updates += open?.updates() ?? 0;
              await open?.close();
              open = undefined;
            },
          };
        },
      },
      {
        id: "limits",
        case: "per-client limits configured, not hit, vs none, proxy",
        base: "proxy",
        variant: "proxy+limits",
        start: proxyPair("proxy", "proxy+limits", UNREACHED_LIMITS),
      },
      {
        // No feature at all: what the method reports when nothing differs (its resolution).
        id: "control",
        case: "control: the proxy vs an identical proxy (no difference but noise)",
        base: "proxy-a",
        variant: "proxy-b",
        start: proxyPair("proxy-a", "proxy-b", {}),
      },
    ];
    const reps = costReps(options);
    console.log(
      `costs (engine auto = ${auto}, ${reps} repetitions, a fresh process each; client: ${
        pingpong ? "pingpong (C), our load tester for TLS" : "our load tester"
      }): ${specs.map((p) => `${p.base} vs ${p.variant}`).join("; ")}`,
    );
    const pairs: CostPair[] = [];
    for (const spec of specs) {
      const base: CostSample[] = [];
      const variant: CostSample[] = [];
      let engineLabel: string | undefined;
      for (let rep = 1; rep <= reps; rep++) {
        const run = await spec.start();
        engineLabel ??= run.variant.engine;
        try {
          const sides = [
            { target: run.base, into: base },
            { target: run.variant, into: variant, open: run.open, close: run.close },
          ];
          if (rep % 2 === 0) sides.reverse();
          for (const side of sides) {
            await side.open?.();
            try {
              const sample = await measure(side.target, spec, options, pingpong);
              side.into.push(sample);
              console.log(
                `  rep ${rep}/${reps} ${side.target.name.padEnd(20)} ${
                  Math.round(sample.rps).toString().padStart(7)
                } req/s  CPU ${sample.cpuUs?.toFixed(1) ?? "-"} µs/req` +
                  (sample.errors > 0 ? `  errors ${sample.errors}` : ""),
              );
            } finally {
              await side.close?.();
            }
          }
        } finally {
          await run.variant.stop();
          await run.base.stop();
        }
      }
      const cpu = (samples: CostSample[]) =>
        median(samples.flatMap((s) => s.cpuUs === undefined ? [] : [s.cpuUs]));
      const baseCpu = cpu(base);
      const variantCpu = cpu(variant);
      pairs.push({
        id: spec.id,
        case: spec.case,
        engine: auto,
        engine_label: engineLabel ?? auto,
        base: spec.base,
        variant: spec.variant,
        base_rps: median(base.map((r) => r.rps)),
        variant_rps: median(variant.map((r) => r.rps)),
        ratio: median(variant.map((r, i) => r.rps / (base[i]?.rps ?? NaN))),
        ...(Number.isFinite(baseCpu) ? { base_cpu_us: baseCpu } : {}),
        ...(Number.isFinite(variantCpu) ? { variant_cpu_us: variantCpu } : {}),
        errors: [...base, ...variant].reduce((sum, r) => sum + r.errors, 0),
      });
    }
    if (updates === 0) throw new Error("the dashboards pair received no update");
    console.log(`  dashboards received ${updates} updates in all`);
    return pairs;
  } finally {
    await tlsEcho.stop();
  }
}

/**
 * The cost pairs' table.
 *
 * @param pairs What {@linkcode costPairs} returned.
 * @returns Text.
 * @example
 * ```ts
 * console.log(renderCosts(pairs));
 * ```
 */
export function renderCosts(pairs: readonly CostPair[]): string {
  const cpu = (us: number | undefined) => us === undefined ? "-" : us.toFixed(1);
  return [
    "Feature costs, 1 KiB ping-pong, 10 conns (pairs run back to back; ratio = median of " +
    "per-repetition ratios; CPU = the serving process's µs per request):",
    markdownTable(
      ["Case", "engine", "without", "req/s", "with", "req/s", "ratio", "CPU µs/req"],
      pairs.map((p) => [
        p.case,
        p.engine_label,
        p.base,
        String(Math.round(p.base_rps)),
        p.variant,
        String(Math.round(p.variant_rps)) + (p.errors > 0 ? ` (${p.errors} err)` : ""),
        `${p.ratio.toFixed(3)}x`,
        `${cpu(p.base_cpu_us)} -> ${cpu(p.variant_cpu_us)}`,
      ]),
    ),
  ].join("\n");
}
