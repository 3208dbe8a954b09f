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
  runScenario,
  type Scenario,
  type ScenarioResult,
  TOOL_VERSION,
} from "@monkey/load-tester";
import { formatMicros, runMain, ServiceError } from "@monkey/shared";
import { BENCH_USAGE, type BenchOptions, benchScenarios, parseBenchArgs } from "./args.ts";
import { bulkAndHttp, crossCheck, measureMemory } from "./extras.ts";
import { startHaproxy } from "./haproxy.ts";
import { startNginxStream } from "./nginx.ts";
import { OUR_ROWS, startOurEcho, startOurs } from "./ours.ts";
import { type BenchTarget, hasProgram, ProcessGroup } from "./process_group.ts";
import { type BenchCell, type BenchRow, type BenchSummary, median, renderBench } from "./table.ts";
import { buildYardsticks, startEchoSrv } from "./yardsticks.ts";

const SEED_MATRIX = new URL("../load_test.toml", import.meta.url);
/** Per-run timeout for the load tester, s. */
const RUN_TIMEOUT_SECS = 5;
/** Scenarios our echo server runs in (its row is a comparison with the C echo server). */
const ECHO_SCENARIOS = new Set(["baseline", "heavy-load"]);
/** Exit code after Ctrl+C. */
const EXIT_INTERRUPTED = 130;

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

/** The direct row, our rows, HAProxy and nginx in front of `backend`. */
async function startTargets(group: ProcessGroup, backend: BenchTarget): Promise<BenchTarget[]> {
  const direct = backend.name === "echo_srv (C)" ? "direct" : "direct (deno echo)";
  const targets: BenchTarget[] = [{ ...backend, name: direct, stop: async () => {} }];
  for (const row of OUR_ROWS) targets.push(await startOurs(group, row, backend.addr));
  if (hasProgram("haproxy")) targets.push(await startHaproxy(group, backend.addr));
  else console.log("note: haproxy is not installed: no HAProxy column (apt-get install haproxy)");
  const nginx = hasProgram("nginx") ? startNginxStream(group, backend.addr) : undefined;
  if (nginx) targets.push(await nginx);
  else {
    console.log(
      "note: nginx or its stream module is not installed: no nginx column " +
        "(apt-get install nginx libnginx-mod-stream)",
    );
  }
  return targets;
}

function cell(results: readonly ScenarioResult[]): BenchCell {
  return {
    rps: median(results.map((r) => r.rps)),
    p50_us: median(results.map((r) => r.latency_us.p50)),
    p99_us: median(results.map((r) => r.latency_us.p99)),
    errors: results.reduce((sum, r) => sum + r.errors.total, 0),
  };
}

/** Every scenario against every target, `reps` times, interleaved; results by target. */
async function runMatrix(
  targets: readonly BenchTarget[],
  ourEcho: BenchTarget,
  scenarios: readonly Scenario[],
  options: BenchOptions,
): Promise<Map<string, Map<string, ScenarioResult[]>>> {
  const samples = new Map<string, Map<string, ScenarioResult[]>>();
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const scenario of scenarios) {
      for (const target of [...targets, ourEcho]) {
        if (target === ourEcho && !ECHO_SCENARIOS.has(scenario.name)) continue;
        const result = await runScenario(scenario, {
          target: target.addr,
          timeout_secs: RUN_TIMEOUT_SECS,
        });
        const byScenario = samples.get(target.name) ?? new Map<string, ScenarioResult[]>();
        samples.set(target.name, byScenario);
        byScenario.set(scenario.name, [...byScenario.get(scenario.name) ?? [], result]);
        console.log(
          `  rep ${rep}/${options.reps} ${scenario.name.padEnd(14)} ${target.name.padEnd(18)} ` +
            `${Math.round(result.rps).toString().padStart(7)} req/s  p99 ${
              formatMicros(result.latency_us.p99)
            }` +
            (result.errors.total > 0 ? `  errors ${result.errors.total}` : ""),
        );
      }
    }
  }
  return samples;
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
    const backend = yardsticks
      ? await startEchoSrv(group, yardsticks.echoSrv)
      : await startOurEcho(group, "echo (deno backend)");
    const ourEcho = await startOurEcho(group);
    const targets = await startTargets(group, backend);
    console.log(
      `backend: ${backend.name} on ${backend.addr}; targets: ${
        targets.map((t) => t.name).join(", ")
      }`,
    );

    const samples = await runMatrix(targets, ourEcho, scenarios, options);
    const rows: BenchRow[] = scenarios.map((s) => ({
      scenario: s.name,
      connections: s.connections,
      message_size: s.message_size,
      cells: Object.fromEntries(
        [...samples].flatMap(([target, byScenario]) => {
          const list = byScenario.get(s.name);
          return list ? [[target, cell(list)]] : [];
        }),
      ),
    }));

    // The C client on the same targets: a cross-check of what our load tester reports.
    const first = scenarios.find((s) => s.name === "baseline") ?? scenarios[0]!;
    const firstRow = rows.find((r) => r.scenario === first.name)!;
    const cross = yardsticks
      ? await crossCheck(
        yardsticks.pingpong,
        targets.filter((t, i) => i === 0 || t.name === "proxy" || t.name === "haproxy"),
        first,
        Object.fromEntries(Object.entries(firstRow.cells).map(([name, c]) => [name, c.rps])),
        options,
      )
      : [];

    // RSS per idle connection on fresh processes (a heap grown by the load runs would hide the
    // cost of new connections), then bulk and HTTP.
    const memory = await measureMemory(group, backend, options);
    const extra = await bulkAndHttp(group, options);

    const summary: BenchSummary = {
      machine: info,
      rows,
      cross,
      memory,
      extra,
      reps: options.reps,
      secs: options.secs,
    };
    console.log("");
    console.log(renderBench(summary));

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
