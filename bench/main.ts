/**
 * `deno task bench`: our proxy (both relays), load balancer and echo server side by side with
 * a direct connection, HAProxy and nginx's stream module, on loopback ports it picks. Runs the
 * seed's scenario matrix with our load tester (medians over repeated runs, targets interleaved
 * so noise spreads evenly), cross-checks with the C ping-pong client, measures RSS per idle
 * connection and bulk transfer, and prints one table with ratios, the machine and the date.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, formatMicros, parseTomlText, runMain, ServiceError } from "@monkey/shared";
import { compareWithBaseline, readReport, regressions } from "./baseline.ts";
import type { Scenario } from "./config.ts";
import { machineInfo, type RunReport, type ScenarioResult, TOOL_VERSION } from "./result.ts";
import { runScenario } from "./runner.ts";
import {
  type BenchTarget,
  buildYardstick,
  freePort,
  hasProgram,
  ProcessGroup,
  rssPerIdleConnection,
  runIperf,
  runPingpongC,
  runWrk,
  startDenoService,
  startExternal,
  startHaproxy,
  startIperfServer,
  startNginxHttp,
  startNginxStream,
} from "./bench_targets.ts";
import {
  type BenchCell,
  type BenchExtra,
  type BenchRow,
  median,
  renderBench,
} from "./bench_table.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Bench settings. */
interface BenchOptions {
  quick: boolean;
  reps: number;
  secs: number;
  json: string | undefined;
  baseline: string | undefined;
  failOnRegression: number | undefined;
  idleConnections: number;
}

function parseBenchArgs(args: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        quick: { type: "boolean" },
        reps: { type: "string" },
        secs: { type: "string" },
        json: { type: "string" },
        baseline: { type: "string" },
        "fail-on-regression": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new ConfigError(`Cannot parse command line: ${(error as Error).message.split("\n")[0]}`);
  }
  if (parsed.help) {
    console.log(
      "Usage: deno task bench [--quick] [--reps N] [--secs S] [--json FILE] [--baseline FILE] [--fail-on-regression PCT]",
    );
    Deno.exit(0);
  }
  const number = (flag: string, text: string | undefined, fallback: number, min: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      throw new ConfigError(
        `Cannot parse flag --${flag}: expected a number >= ${min}, got '${text}'`,
      );
    }
    return n;
  };
  const quick = parsed.quick === true;
  return {
    quick,
    reps: number("reps", parsed.reps, quick ? 1 : 3, 1),
    secs: number("secs", parsed.secs, quick ? 1 : 3, 0.2),
    json: parsed.json,
    baseline: parsed.baseline,
    failOnRegression: parsed["fail-on-regression"] === undefined
      ? undefined
      : number("fail-on-regression", parsed["fail-on-regression"], 10, 0),
    idleConnections: quick ? 500 : 2000,
  };
}

/** The seed's matrix from load_test.toml, or the quick subset. */
function benchScenarios(options: BenchOptions): Scenario[] {
  const file = parseTomlText(Deno.readTextFileSync(`${ROOT}/load_test.toml`), "load_test.toml") as {
    scenarios?: { name: string; connections: number; message_size: number }[];
  };
  const seed = file.scenarios ?? [];
  const quickNames = new Set(["baseline", "heavy-load", "stress-test", "big-data"]);
  return seed
    .filter((s) => !options.quick || quickNames.has(s.name))
    .map((s) => ({
      name: s.name,
      mode: "pingpong" as const,
      connections: s.connections,
      message_size: s.message_size,
      duration_secs: options.secs,
      rate: 0,
      warmup_secs: options.quick ? 0.2 : 0.5,
    }));
}

function machine() {
  let cpu = "unknown CPU";
  try {
    const lscpu = new TextDecoder().decode(
      new Deno.Command("lscpu", { stderr: "null" }).outputSync().stdout,
    );
    cpu = /Model name:\s*(.+)/.exec(lscpu)?.[1]?.trim() ?? cpu;
  } catch {
    // No lscpu: try /proc/cpuinfo.
    try {
      cpu = /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1]?.trim() ??
        cpu;
    } catch {
      // Not Linux.
    }
  }
  return { ...machineInfo(), cpu, kernel: Deno.osRelease(), date: new Date().toISOString() };
}

async function startTargets(
  group: ProcessGroup,
  backend: BenchTarget,
  echoSrv: boolean,
): Promise<BenchTarget[]> {
  const targets: BenchTarget[] = [{ ...backend, name: "direct", stop: async () => {} }];
  const proxyArgs = (
    relay: string,
  ) => ["--listen", "127.0.0.1:0", "--target", backend.addr, "--relay", relay];
  const banner = /proxying (\S+) ->/;
  targets.push(
    await startDenoService(group, ROOT, "proxy", "proxy/main.ts", proxyArgs("loop"), banner),
  );
  targets.push(
    await startDenoService(
      group,
      ROOT,
      "proxy-streams",
      "proxy/main.ts",
      proxyArgs("streams"),
      banner,
    ),
  );
  const twoWorkers = [...proxyArgs("loop"), "--workers", "2"];
  targets.push(
    await startDenoService(group, ROOT, "proxy-2w", "proxy/main.ts", twoWorkers, banner),
  );
  targets.push(await startLb(group, backend));
  targets.push(await startLb(group, backend, 2));
  if (hasProgram("haproxy")) targets.push(await startHaproxy(group, backend.addr));
  if (hasProgram("nginx")) {
    const nginx = startNginxStream(group, backend.addr);
    if (nginx) targets.push(await nginx);
  }
  if (!echoSrv) targets[0]!.name = "direct (deno echo)";
  return targets;
}

function cell(results: ScenarioResult[]): BenchCell {
  return {
    rps: median(results.map((r) => r.rps)),
    p50_us: median(results.map((r) => r.latency_us.p50)),
    p99_us: median(results.map((r) => r.latency_us.p99)),
    errors: results.reduce((sum, r) => sum + r.errors.total, 0),
  };
}

async function bench(args: readonly string[]): Promise<void> {
  const options = parseBenchArgs(args);
  const group = new ProcessGroup();
  const onSignal = () => {
    console.error("\ninterrupted: stopping every process the bench started");
    group.stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const info = machine();
  const startedAt = info.date;
  try {
    console.log(
      `Monkey D. TCP bench (${
        options.quick ? "quick" : "full"
      }): ${info.cpu}, ${info.cpus} cores, ` +
        `${info.os} ${info.kernel}, Deno ${info.deno}, ${info.date}`,
    );
    const pingpong = buildYardstick(group, ROOT, "pingpong");
    const echoSrvBin = buildYardstick(group, ROOT, "echo_srv");
    let backend: BenchTarget;
    if (echoSrvBin) {
      const port = freePort();
      backend = await startExternal(group, "echo_srv (C)", echoSrvBin, [String(port)], port);
    } else {
      backend = await startDenoService(group, ROOT, "echo", "echo/main.ts", [
        "--listen",
        "127.0.0.1:0",
      ], /echoing on (\S+)/);
    }
    const ourEcho = await startDenoService(group, ROOT, "echo (deno)", "echo/main.ts", [
      "--listen",
      "127.0.0.1:0",
    ], /echoing on (\S+)/);
    const targets = await startTargets(group, backend, echoSrvBin !== undefined);
    console.log(
      `backend: ${backend.name} on ${backend.addr}; targets: ${
        targets.map((t) => t.name).join(", ")
      }`,
    );
    if (!pingpong) {
      console.log("note: ../shared/tools/pingpong.c or cc not found: no C client cross-check");
    }

    const scenarios = benchScenarios(options);
    const samples = new Map<string, ScenarioResult[]>();
    const key = (target: string, scenario: string) => `${target}\u0000${scenario}`;
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const scenario of scenarios) {
        for (const target of [...targets, ourEcho]) {
          if (
            target === ourEcho && scenario.name !== "baseline" && scenario.name !== "heavy-load"
          ) continue;
          const result = await runScenario(scenario, { target: target.addr, timeout_secs: 5 });
          const list = samples.get(key(target.name, scenario.name)) ?? [];
          list.push(result);
          samples.set(key(target.name, scenario.name), list);
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

    const rows: BenchRow[] = scenarios.map((s) => ({
      scenario: s.name,
      connections: s.connections,
      message_size: s.message_size,
      cells: Object.fromEntries(
        [...targets, ourEcho].flatMap((t) => {
          const list = samples.get(key(t.name, s.name));
          return list ? [[t.name, cell(list)]] : [];
        }),
      ),
    }));

    // The C client on the same targets: a cross-check of what our load tester reports.
    const cross: { target: string; ours: number; c: number }[] = [];
    if (pingpong) {
      const baseline = scenarios.find((s) => s.name === "baseline") ?? scenarios[0]!;
      for (
        const target of [
          targets[0]!,
          ...targets.filter((t) => t.name === "proxy" || t.name === "haproxy"),
        ]
      ) {
        const cRuns = [];
        for (let rep = 0; rep < options.reps; rep++) {
          cRuns.push(
            await runPingpongC(
              pingpong,
              target.addr,
              baseline.connections,
              baseline.message_size,
              options.secs,
            ),
          );
        }
        const ours = rows.find((r) => r.scenario === baseline.name)?.cells[target.name]?.rps ?? NaN;
        cross.push({ target: target.name, ours, c: median(cRuns.map((r) => r.rps)) });
      }
    }

    // RSS per established idle connection, on fresh processes (a heap grown by the load runs
    // would hide the cost of new connections).
    const memory = await measureMemory(group, backend, options);
    const extra = await bulkAndHttp(group, options);

    console.log("");
    console.log(
      renderBench({
        machine: info,
        rows,
        cross,
        memory,
        extra,
        reps: options.reps,
        secs: options.secs,
      }),
    );

    const report: RunReport = {
      target: "bench",
      started_at: startedAt,
      tool_version: TOOL_VERSION,
      machine: machineInfo(),
      scenarios: [...samples.entries()].map(([k, list]) => {
        const [target, scenario] = k.split("\u0000");
        const sorted = [...list].sort((a, b) => a.rps - b.rps);
        return { ...sorted[Math.floor(sorted.length / 2)]!, name: `${target}/${scenario}` };
      }),
    };
    if (options.json) {
      Deno.writeTextFileSync(
        options.json,
        JSON.stringify(
          { ...report, bench: { machine: info, rows, cross, memory, extra } },
          null,
          2,
        ),
      );
      console.log(`results saved to ${options.json}`);
    }
    if (options.baseline) {
      const previous = await readReport(options.baseline);
      const compared = compareWithBaseline(report.scenarios, previous);
      console.log(`\nCompared with ${options.baseline}:`);
      for (const row of compared) {
        console.log(
          `  ${row.name.padEnd(34)} ${Math.round(row.rps).toString().padStart(7)} req/s (${
            signed(row.rps_change_pct)
          }%)  ` +
            `p99 ${formatMicros(row.p99_us)} (${signed(row.p99_change_pct)}%)`,
        );
      }
      if (options.failOnRegression !== undefined) {
        const failed = regressions(compared, options.failOnRegression);
        if (failed.length > 0) {
          for (const line of failed) console.error(`regression: ${line}`);
          throw new ServiceError(
            `${failed.length} regression(s) beyond ${options.failOnRegression}%`,
          );
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await group.stopAll();
  }
}

/** Our load balancer with one backend, on 1 or more workers. */
function startLb(group: ProcessGroup, backend: BenchTarget, workers = 1): Promise<BenchTarget> {
  const args = ["--listen", "127.0.0.1:0", "--backend", backend.addr, "--workers", String(workers)];
  const name = workers > 1 ? `lb-${workers}w` : "lb";
  return startDenoService(group, ROOT, name, "load_balancer/main.ts", args, /balancing (\S+) ->/);
}

/** Our proxy and the peers in front of some other backend (iperf3, an HTTP server). */
async function proxiesTo(group: ProcessGroup, backend: BenchTarget): Promise<BenchTarget[]> {
  const list: BenchTarget[] = [{ ...backend, name: "direct", stop: async () => {} }];
  list.push(
    await startDenoService(
      group,
      ROOT,
      "proxy",
      "proxy/main.ts",
      ["--listen", "127.0.0.1:0", "--target", backend.addr],
      /proxying (\S+) ->/,
    ),
  );
  if (hasProgram("haproxy")) list.push(await startHaproxy(group, backend.addr));
  if (hasProgram("nginx")) {
    const nginx = startNginxStream(group, backend.addr);
    if (nginx) list.push(await nginx);
  }
  return list;
}

/** RSS per idle connection of fresh proxies (ours, the load balancer, HAProxy, nginx). */
async function measureMemory(group: ProcessGroup, backend: BenchTarget, options: BenchOptions) {
  const memory: { target: string; bytes: number }[] = [];
  const fresh = await proxiesTo(group, backend);
  fresh.push(await startLb(group, backend));
  for (const target of fresh.slice(1)) {
    memory.push({
      target: target.name,
      bytes: await rssPerIdleConnection(target, options.idleConnections),
    });
    await target.stop();
  }
  return memory;
}

/** Bulk transfer (iperf3) and HTTP keep-alive (wrk → proxy → nginx) rows, medians over reps. */
async function bulkAndHttp(group: ProcessGroup, options: BenchOptions): Promise<BenchExtra[]> {
  const extra: BenchExtra[] = [];
  if (hasProgram("iperf3")) {
    const server = await startIperfServer(group);
    const targets = await proxiesTo(group, server);
    const values: Record<string, number[]> = {};
    for (let rep = 0; rep < options.reps; rep++) {
      for (const target of targets) {
        const bps = await runIperf(target.addr, options.secs);
        (values[target.name] ??= []).push(bps);
        console.log(
          `  rep ${rep + 1}/${options.reps} iperf3 bulk     ${target.name.padEnd(18)} ${
            (bps / 1e9).toFixed(2)
          } Gbit/s`,
        );
      }
    }
    extra.push({
      test: "bulk transfer (iperf3, 1 stream)",
      unit: "Gbit/s",
      values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, median(v) / 1e9])),
    });
    for (const target of targets.slice(1)) await target.stop();
    await server.stop();
  }
  if (hasProgram("wrk") && hasProgram("nginx")) {
    const server = await startNginxHttp(group);
    const targets = await proxiesTo(group, server);
    for (const connections of [10, 100]) {
      const values: Record<string, number[]> = {};
      for (let rep = 0; rep < options.reps; rep++) {
        for (const target of targets) {
          const rps = await runWrk(target.addr, connections, options.secs);
          (values[target.name] ??= []).push(rps);
          console.log(
            `  rep ${rep + 1}/${options.reps} http c=${String(connections).padEnd(4)}    ${
              target.name.padEnd(18)
            } ${Math.round(rps)} req/s`,
          );
        }
      }
      extra.push({
        test: `HTTP keep-alive (wrk, ${connections} conns → nginx)`,
        unit: "req/s",
        values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, median(v)])),
      });
    }
  }
  return extra;
}

function signed(n: number): string {
  return `${n >= 0 ? "+" : ""}${n.toFixed(1)}`;
}

if (import.meta.main) await runMain(() => bench(Deno.args));
