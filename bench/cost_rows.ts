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
 *   proxy without limits.
 *
 * Each pair's ratio is the median of the per-repetition ratios (the two runs of a repetition
 * are seconds apart, so a shared machine's slow drifts cancel). The serving process's CPU time
 * per request is shown beside it (Linux: `/proc/PID/stat`): a cost the throughput may not
 * show when the service is not the bottleneck.
 *
 * @module
 */

import type { ScenarioResult } from "@monkey/load-tester";
import type { EngineName } from "@monkey/shared";
import type { BenchOptions } from "./args.ts";
import { type PlannedTarget, runMatrix } from "./matrix.ts";
import { startServe } from "./ours.ts";
import type { BenchTarget, ProcessGroup } from "./process_group.ts";
import { markdownTable, median } from "./table.ts";
import { benchClientTls, rowScenario, startAuto } from "./tls_rows.ts";

/** How many dashboards the `dashboards` pair opens. */
export const DASHBOARDS = 10;
/** Per-client limits of the `limits` pair: far above one client's 10 connections. */
export const UNREACHED_LIMITS = {
  max_connections_per_client: 1000,
  max_conn_rate_per_client: 1000,
  max_conn_burst_per_client: 1000,
} as const;
/** How long the dashboards may take to receive their first update, ms. */
const FIRST_UPDATE_MS = 5000;
/** Linux clock ticks per second (USER_HZ) in `/proc/PID/stat`. */
const TICKS_PER_SEC = 100;

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
 * CPU seconds (user + system) a process has used so far, from `/proc/PID/stat` (read with
 * `cat`: Deno reads another process's `/proc` entries only with --allow-all), or undefined
 * off Linux.
 */
async function cpuSecs(pid: number): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`], stderr: "null" })
      .output();
    if (!out.success) return undefined;
    const stat = new TextDecoder().decode(out.stdout);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const secs = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
    return Number.isFinite(secs) ? secs : undefined;
  } catch {
    return undefined; // no cat: not a Unix
  }
}

/**
 * Open `count` dashboards' event streams and wait until each has its first update.
 *
 * @param metricsAddr The service's HTTP endpoint.
 * @param count How many.
 * @returns The updates received so far, and a function closing them all.
 * @throws {Error} When one fails or gets no update within 5 s.
 * @example
 * ```ts
 * const dashboards = await openDashboards("127.0.0.1:9090", 10);
 * await dashboards.close();
 * ```
 */
export async function openDashboards(
  metricsAddr: string,
  count: number,
): Promise<{ updates(): number; close(): Promise<void> }> {
  const controller = new AbortController();
  let updates = 0;
  const firsts: Promise<void>[] = [];
  const readers: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const first = Promise.withResolvers<void>();
    firsts.push(first.promise);
    readers.push(
      (async () => {
        const res = await fetch(`http://${metricsAddr}/events`, { signal: controller.signal });
        if (!res.ok || res.body === null) throw new Error(`GET /events answered ${res.status}`);
        for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
          const n = chunk.match(/^data:/gm)?.length ?? 0;
          updates += n;
          if (n > 0) first.resolve();
        }
      })().catch((error) => first.reject(error)),
    );
  }
  const close = async () => {
    controller.abort();
    await Promise.allSettled(readers);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(firsts),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no update within 5 s")), FIRST_UPDATE_MS);
      }),
    ]);
  } catch (error) {
    await close();
    throw new Error(`Cannot open ${count} dashboards on ${metricsAddr}: ${error}`);
  } finally {
    clearTimeout(timer);
  }
  return { updates: () => updates, close };
}

/** Measures the target's CPU µs per request of each run into `perRequest`. */
function cpuMeter(target: BenchTarget, perRequest: number[]) {
  return async () => {
    const cpu0 = await cpuSecs(target.pid);
    const started = performance.now();
    return async (result: ScenarioResult) => {
      const elapsed = performance.now() - started;
      const cpu1 = await cpuSecs(target.pid);
      // Warmup and connects count too: requests estimated at the measured rate.
      const requests = result.rps * elapsed / 1000;
      if (cpu0 !== undefined && cpu1 !== undefined && requests > 0) {
        perRequest.push(((cpu1 - cpu0) * 1e6) / requests);
      }
    };
  };
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

/**
 * Run the three pairs; every process they start is stopped before it returns.
 *
 * @param group Process tracking.
 * @param backend The plain echo backend (dashboards and limits pairs).
 * @param auto What `engine = "auto"` resolves to here.
 * @param options Repetitions, seconds, client engine.
 * @returns One entry per pair: `sni`, `dashboards`, `limits`.
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
): Promise<CostPair[]> {
  const started: BenchTarget[] = [];
  let dashboards: Awaited<ReturnType<typeof openDashboards>> | undefined;
  const start = async (target: Promise<BenchTarget>) => {
    const t = await target;
    started.push(t);
    return t;
  };
  try {
    const tlsEcho = await start(startServe(group, "tls-echo", "tls-echo", []));
    const config = `${group.tempDir()}/lb-sni.toml`;
    Deno.writeTextFileSync(config, sniRouteConfig(tlsEcho.addr));
    const withEndpoint = await start(
      startAuto(group, "proxy+endpoint", "proxy", {
        target_addr: backend.addr,
        metrics_addr: "127.0.0.1:0",
      }),
    );
    let updates = 0;
    const pairs = [
      {
        id: "sni",
        case: "SNI passthrough: LB with an sni route vs no routes, TLS end to end",
        base: await start(startAuto(group, "lb-tls-pass", "lb", { backend: tlsEcho.addr })),
        variant: await start(startAuto(group, "lb-sni-route", "lb", { config })),
        tls: benchClientTls(),
      },
      {
        id: "dashboards",
        case: `${DASHBOARDS} open dashboards (SSE on /events) vs none, proxy`,
        base: withEndpoint,
        variant: { ...withEndpoint, name: `proxy+${DASHBOARDS}-dashboards` },
        open: async () =>
          void (dashboards = await openDashboards(withEndpoint.metricsAddr!, DASHBOARDS)),
        close: async () => {
          updates += dashboards?.updates() ?? 0;
          await dashboards?.close();
        },
      },
      {
        id: "limits",
        case: "per-client limits configured, not hit, vs none, proxy",
        base: await start(startAuto(group, "proxy", "proxy", { target_addr: backend.addr })),
        variant: await start(
          startAuto(group, "proxy+limits", "proxy", {
            target_addr: backend.addr,
            ...UNREACHED_LIMITS,
          }),
        ),
      },
    ];
    const cpu = new Map<string, number[]>();
    const plan: PlannedTarget[] = pairs.flatMap((pair) =>
      [pair.base, pair.variant].map((target): PlannedTarget => {
        const perRequest: number[] = [];
        cpu.set(target.name, perRequest);
        const meter = cpuMeter(target, perRequest);
        const open = target === pair.variant ? pair.open : undefined;
        const close = target === pair.variant ? pair.close : undefined;
        return {
          target,
          runs: () => true,
          ...(pair.tls ? { tls: pair.tls } : {}),
          around: async () => {
            await open?.();
            const after = await meter();
            return async (result) => {
              await after(result);
              await close?.();
            };
          },
        };
      })
    );
    console.log(
      `costs (engine auto = ${auto}): ${
        pairs.map((p) => `${p.base.name} vs ${p.variant.name}`).join("; ")
      }`,
    );
    const scenario = rowScenario("cost-1k-10", options);
    const samples = await runMatrix(plan, [scenario], options, true);
    if (updates === 0) throw new Error("the dashboards pair received no update");
    console.log(`  dashboards received ${updates} updates in all`);
    const runsOf = (name: string) => samples.get(name)?.get(scenario.name) ?? [];
    return pairs.map((pair) => {
      const base = runsOf(pair.base.name);
      const variant = runsOf(pair.variant.name);
      const baseCpu = median(cpu.get(pair.base.name) ?? []);
      const variantCpu = median(cpu.get(pair.variant.name) ?? []);
      return {
        id: pair.id,
        case: pair.case,
        engine: auto,
        engine_label: pair.variant.engine ?? auto,
        base: pair.base.name,
        variant: pair.variant.name,
        base_rps: median(base.map((r) => r.rps)),
        variant_rps: median(variant.map((r) => r.rps)),
        ratio: median(variant.map((r, i) => r.rps / (base[i]?.rps ?? NaN))),
        ...(Number.isFinite(baseCpu) ? { base_cpu_us: baseCpu } : {}),
        ...(Number.isFinite(variantCpu) ? { variant_cpu_us: variantCpu } : {}),
        errors: [...base, ...variant].reduce((sum, r) => sum + r.errors.total, 0),
      };
    });
  } finally {
    await dashboards?.close(); // open only when a run failed in between
    for (const target of started) await target.stop();
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
