/**
 * `deno task bench`: our proxy (both relays, two workers), load balancer and echo server side
 * by side with a direct connection, HAProxy and nginx's stream module, on loopback ports it
 * picks. Runs the seed's scenario matrix with our load tester (medians over repeated runs,
 * targets interleaved so noise spreads evenly), cross-checks with the C ping-pong client,
 * measures RSS per idle connection, bulk transfer and HTTP keep-alive, and prints one table
 * with ratios, the machine and the date. See bench/README.md.
 *
 * @module
 */

import {
  compareWithBaseline,
  machineInfo,
  readReport,
  regressions,
  type RunReport,
  type ScenarioResult,
  TOOL_VERSION,
} from "@monkey/load-tester";
import {
  type EngineName,
  formatMicros,
  resolveEngine,
  runMain,
  ServiceError,
} from "@monkey/shared";
import {
  BENCH_SECTIONS,
  BENCH_USAGE,
  type BenchOptions,
  benchScenarios,
  type BenchSection,
  parseBenchArgs,
} from "./args.ts";
import { costPairs, renderCosts } from "./cost_rows.ts";
import { bulkAndHttp, loadTesterVsC, measureMemory } from "./extras.ts";
import { evaluateGoals, renderGoals } from "./goals.ts";
import { matrixRows, runMatrix, startMatrixTargets } from "./matrix.ts";
import { metricsProbe } from "./metrics_probe.ts";
import { startOurEcho } from "./ours.ts";
import { ProcessGroup } from "./process_group.ts";
import { type BenchSummary, renderBench } from "./table.ts";
import { renderTls, tlsTermination } from "./tls_rows.ts";
import { buildYardsticks, startEchoSrv } from "./yardsticks.ts";

const SEED_MATRIX = new URL("../load_test.toml", import.meta.url);
/** Exit code after Ctrl+C. */
const EXIT_INTERRUPTED = 130;
/** The load tester check's shape: the goal is stated for 10 connections, 1 KiB. */
const CLIENT_CHECK = { connections: 10, message_size: 1024 };

/** The machine line: CPU model, cores, OS, kernel, Deno, date. */
function machine(): BenchSummary["machine"] {
  // lscpu, because Deno reads /proc/cpuinfo only with --allow-all.
  let cpu = "unknown CPU";
  try {
    const lscpu = new Deno.Command("lscpu", { stderr: "null" }).outputSync();
    cpu = /Model name:\s*(.+)/.exec(new TextDecoder().decode(lscpu.stdout))?.[1]?.trim() ?? cpu;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error; // no lscpu: not Linux
  }
  const info = machineInfo();
  return {
    cpu,
    cpus: info.cpus,
    os: info.os,
    kernel: Deno.osRelease(),
    deno: info.deno,
    date: new Date().toISOString(),
  };
}

/** What `auto` resolves to here, and every engine that can run (epoll needs Linux + FFI). */
function engines(): BenchSummary["engines"] {
  const auto = resolveEngine("auto").name;
  const available: EngineName[] = auto === "epoll" ? ["epoll", "deno"] : ["deno"];
  return { auto, available };
}

function signed(n: number): string {
  return `${n >= 0 ? "+" : ""}${n.toFixed(1)}`;
}

/** Print the comparison with a saved run; throw when --fail-on-regression is exceeded. */
async function compare(report: RunReport, options: BenchOptions, file: string): Promise<void> {
  const compared = compareWithBaseline(report.scenarios, await readReport(file));
  console.log(`\nCompared with ${file}:`);
  for (const row of compared) {
    console.log(
      `  ${row.name.padEnd(34)} ${Math.round(row.rps).toString().padStart(7)} req/s (${
        signed(row.rps_change_pct)
      }%)  p99 ${formatMicros(row.p99_us)} (${signed(row.p99_change_pct)}%)`,
    );
  }
  if (options.failOnRegression === undefined) return;
  const failed = regressions(compared, options.failOnRegression);
  if (failed.length === 0) return;
  for (const line of failed) console.error(`regression: ${line}`);
  throw new ServiceError(`${failed.length} regression(s) beyond ${options.failOnRegression}%`);
}

/**
 * Run the whole bench and print its table.
 *
 * @param args Command-line arguments (see {@linkcode BENCH_USAGE}).
 * @returns Resolves when every process it started is stopped again.
 * @throws {ConfigError} On bad flags (exit 2).
 * @throws {ServiceError} When --fail-on-regression is exceeded (exit 1).
 * @example
 * ```ts
 * await bench(["--quick", "--json", "bench.json"]);
 * ```
 */
export async function bench(args: readonly string[]): Promise<void> {
  const options = parseBenchArgs(args);
  if (options.help) {
    console.log(BENCH_USAGE);
    return;
  }
  const scenarios = benchScenarios(options, Deno.readTextFileSync(SEED_MATRIX));
  const group = new ProcessGroup();
  const onSignal = () => {
    console.error("\ninterrupted: stopping every process the bench started");
    group.stopAll().finally(() => Deno.exit(EXIT_INTERRUPTED));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const info = machine();
  try {
    console.log(
      `Monkey D. TCP bench (${options.quick ? "quick" : "full"}): ${info.cpu}, ${info.cpus} ` +
        `cores, ${info.os} ${info.kernel}, Deno ${info.deno}, ${info.date}`,
    );
    const built = await buildYardsticks();
    const yardsticks = "skipped" in built ? undefined : built;
    if ("skipped" in built) console.log(`note: ${built.skipped}`);
    const engine = engines();
    if (!engine.available.includes("epoll")) {
      console.log("note: the epoll engine cannot run here (Linux and --allow-ffi): no epoll rows");
    }
    const backend = yardsticks
      ? await startEchoSrv(group, yardsticks.echoSrv)
      : await startOurEcho(group, { label: "echo (deno backend)", config: { engine: "deno" } });
    const has = (section: BenchSection) => options.only.has(section);
    if (options.only.size < BENCH_SECTIONS.length) {
      console.log(`sections: ${[...options.only].join(", ")} (--only)`);
    }
    let samples = new Map<string, Map<string, ScenarioResult[]>>();
    const pingpong = options.client === "c" ? yardsticks?.pingpong : undefined;
    const matrixClient = pingpong
      ? "pingpong (C, bench/c/)"
      : `1 load-tester worker (${options.clientEngine} engine)`;
    if (has("matrix")) {
      const plan = await startMatrixTargets(group, backend, engine.available);
      console.log(
        `backend: ${backend.name} on ${backend.addr}; engine auto = ${engine.auto}; targets: ${
          plan.map((p) => p.target.name).join(", ")
        }`,
      );
      if (options.client === "c" && pingpong === undefined) {
        console.log(
          "note: no C compiler: our load tester drives the matrix (--client load-tester)",
        );
      }
      console.log(
        `matrix client: ${
          pingpong ? "pingpong (C, bench/c/)" : `our load tester (${options.clientEngine} engine)`
        }`,
      );
      samples = await runMatrix(plan, scenarios, options, false, pingpong);
      for (const { target } of plan.slice(1)) await target.stop();
    }
    const rows = has("matrix") ? matrixRows(scenarios, samples) : [];

    // Our load tester (its CLI, each engine) against the C client on the C echo server.
    const clients = yardsticks && has("client")
      ? await loadTesterVsC(
        group,
        yardsticks.pingpong,
        backend,
        CLIENT_CHECK,
        engine.available,
        options,
      )
      : [];
    // GET /metrics under 500-connection ping-pong through a fresh proxy per engine.
    const probes = has("probe")
      ? await metricsProbe(group, backend, engine.available, options, pingpong)
      : [];
    // RSS per idle connection on fresh processes (a heap grown by the load runs would hide the
    // cost of new connections), then bulk and HTTP.
    const memory = has("memory")
      ? await measureMemory(group, backend, engine.available, options)
      : [];
    const extra = await bulkAndHttp(group, engine.available, options);
    // TLS termination against HAProxy and nginx, then what SNI routing, dashboards and
    // per-client limits cost.
    const tls = has("tls") ? await tlsTermination(group, backend, options) : [];
    const costs = has("costs")
      ? await costPairs(group, backend, engine.auto, options, yardsticks?.pingpong)
      : [];

    const summary: BenchSummary = {
      machine: info,
      engines: engine,
      rows,
      clients,
      probes,
      memory,
      extra,
      tls,
      costs,
      reps: options.reps,
      client: matrixClient,
      secs: options.secs,
    };
    summary.goals = evaluateGoals(summary, engine.auto);
    console.log("");
    console.log(renderBench(summary));
    if (tls.length > 0) console.log(`\n${renderTls(tls)}`);
    if (costs.length > 0) console.log(`\n${renderCosts(costs)}`);
    console.log("");
    console.log(renderGoals(summary.goals, engine.auto));

    const report: RunReport = {
      target: "bench",
      started_at: info.date,
      tool_version: TOOL_VERSION,
      machine: machineInfo(),
      scenarios: [...samples].flatMap(([target, byScenario]) =>
        [...byScenario].map(([scenario, list]) => {
          const sorted = [...list].sort((a, b) => a.rps - b.rps);
          return { ...sorted[Math.floor(sorted.length / 2)]!, name: `${target}/${scenario}` };
        })
      ),
    };
    if (options.json) {
      Deno.writeTextFileSync(options.json, JSON.stringify({ ...report, bench: summary }, null, 2));
      console.log(`results saved to ${options.json}`);
    }
    if (options.baseline) await compare(report, options, options.baseline);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await group.stopAll();
  }
}

if (import.meta.main) await runMain(() => bench(Deno.args));
