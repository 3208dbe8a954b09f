/**
 * The measurements beside the ping-pong matrix: our load tester (each engine) against the C
 * client, RSS per idle connection, bulk transfer (iperf3) and HTTP keep-alive (wrk → proxy →
 * nginx), each with our proxy on every engine. Each runs on fresh processes and stops them
 * again; a missing peer skips its rows.
 *
 * @module
 */

import type { EngineName } from "@monkey/shared";
import type { BenchOptions } from "./args.ts";
import { startHaproxy } from "./haproxy.ts";
import { runIperf, runWrk, startIperfServer } from "./iperf_wrk.ts";
import { runLoadTestProcess } from "./load_test_process.ts";
import { isSuspectRun } from "./matrix.ts";
import { rssPerIdleConnection } from "./memory.ts";
import { startNginxHttp, startNginxStream } from "./nginx.ts";
import { engineLabelOf, startOursByLabel } from "./ours.ts";
import { type BenchTarget, hasProgram, type ProcessGroup } from "./process_group.ts";
import type { BenchExtra, ClientRun } from "./table.ts";
import { median } from "./table.ts";
import { runPingpong } from "./yardsticks.ts";

/** Runs again after a suspect load tester run, at most. */
const CLIENT_RETRIES = 2;
/** Connection counts of the HTTP keep-alive rows. */
const WRK_CONNECTIONS = [10, 100] as const;

/**
 * A direct row plus our proxy on each engine, HAProxy and nginx (when installed) in front of
 * `backend`.
 *
 * @param group Process tracking.
 * @param backend What they forward to.
 * @param engines Our proxy's engines, one row each.
 * @returns The targets, "direct" first.
 * @example
 * ```ts
 * const targets = await proxiesTo(group, await startIperfServer(group), ["epoll", "deno"]);
 * ```
 */
export async function proxiesTo(
  group: ProcessGroup,
  backend: BenchTarget,
  engines: readonly EngineName[],
): Promise<BenchTarget[]> {
  const list: BenchTarget[] = [{ ...backend, name: "direct", stop: async () => {} }];
  for (const engine of engines) {
    list.push(await startOursByLabel(group, engineLabelOf("proxy", engine), backend.addr));
  }
  if (hasProgram("haproxy")) list.push(await startHaproxy(group, backend.addr));
  if (hasProgram("nginx")) {
    const nginx = startNginxStream(group, backend.addr);
    if (nginx) list.push(await nginx);
  }
  return list;
}

/**
 * The name of a client row in the load tester check.
 *
 * @param engine The load tester's engine, or none for the C client.
 * @returns "pingpong.c" or "load tester (ENGINE)".
 * @example
 * ```ts
 * clientLabel("epoll"); // "load tester (epoll)"
 * ```
 */
export function clientLabel(engine?: EngineName): string {
  return engine ? `load tester (${engine})` : "pingpong.c";
}

/**
 * Our load tester on each engine (its CLI, in a process of its own) against the C ping-pong
 * client, on the C echo server, rounds interleaved; medians per client.
 *
 * @param group Process tracking.
 * @param binary The compiled `pingpong`.
 * @param direct The C echo server.
 * @param scenario Connections and message size.
 * @param engines The load tester's engines.
 * @param options Repetitions and seconds.
 * @returns "pingpong.c" first, then one row per engine.
 * @example
 * ```ts
 * const rows = await loadTesterVsC(group, bin, echoSrv, { connections: 10, message_size: 1024 }, ["epoll"], options);
 * ```
 */
export async function loadTesterVsC(
  group: ProcessGroup,
  binary: string,
  direct: BenchTarget,
  scenario: { connections: number; message_size: number },
  engines: readonly EngineName[],
  options: BenchOptions,
): Promise<ClientRun[]> {
  const runs = new Map<string, { rps: number; p50_us: number; p99_us: number }[]>();
  const add = (client: string, run: { rps: number; p50_us: number; p99_us: number }) =>
    runs.set(client, [...runs.get(client) ?? [], run]);
  for (let rep = 1; rep <= options.reps; rep++) {
    const c = await runPingpong(
      binary,
      direct.addr,
      scenario.connections,
      scenario.message_size,
      options.secs,
    );
    add(clientLabel(), c);
    log(rep, options, "client check", clientLabel(), `${Math.round(c.rps)} req/s`);
    for (const engine of engines) {
      const run = {
        target: direct.addr,
        connections: scenario.connections,
        message_size: scenario.message_size,
        secs: options.secs,
        engine,
      };
      let { result } = await runLoadTestProcess(group, run);
      for (let retry = 1; retry <= CLIENT_RETRIES && isSuspectRun(result, run.secs); retry++) {
        log(rep, options, "client check", clientLabel(engine), "suspect run, again");
        ({ result } = await runLoadTestProcess(group, run));
      }
      if (isSuspectRun(result, run.secs)) {
        log(rep, options, "client check", clientLabel(engine), "SUSPECT (kept)");
      }
      add(clientLabel(engine), {
        rps: result.rps,
        p50_us: result.latency_us.p50,
        p99_us: result.latency_us.p99,
      });
      log(rep, options, "client check", clientLabel(engine), `${Math.round(result.rps)} req/s`);
    }
  }
  return [undefined, ...engines].map((engine) => {
    const list = runs.get(clientLabel(engine)) ?? [];
    return {
      client: clientLabel(engine),
      ...(engine ? { engine } : {}),
      rps: median(list.map((r) => r.rps)),
      p50_us: median(list.map((r) => r.p50_us)),
      p99_us: median(list.map((r) => r.p99_us)),
    };
  });
}

/**
 * RSS per idle connection of fresh proxies: ours and the load balancer on each engine,
 * HAProxy, nginx. One process at a time, so the readings do not disturb each other.
 *
 * @param group Process tracking.
 * @param backend The echo backend.
 * @param engines Our engines.
 * @param options How many idle connections.
 * @returns Bytes per connection per target.
 * @example
 * ```ts
 * const memory = await measureMemory(group, backend, ["epoll", "deno"], parseBenchArgs(["--quick"]));
 * ```
 */
export async function measureMemory(
  group: ProcessGroup,
  backend: BenchTarget,
  engines: readonly EngineName[],
  options: BenchOptions,
): Promise<{ target: string; bytes: number }[]> {
  const memory: { target: string; bytes: number }[] = [];
  const fresh = (await proxiesTo(group, backend, engines)).slice(1);
  for (const engine of engines) {
    fresh.push(await startOursByLabel(group, engineLabelOf("lb", engine), backend.addr));
  }
  for (const target of fresh) {
    memory.push({
      target: target.name,
      bytes: await rssPerIdleConnection(target, options.idleConnections),
    });
    await target.stop();
  }
  return memory;
}

function log(rep: number, options: BenchOptions, test: string, target: string, value: string) {
  console.log(`  rep ${rep}/${options.reps} ${test.padEnd(14)} ${target.padEnd(18)} ${value}`);
}

async function bulk(
  group: ProcessGroup,
  engines: readonly EngineName[],
  options: BenchOptions,
): Promise<BenchExtra> {
  const server = await startIperfServer(group);
  const targets = await proxiesTo(group, server, engines);
  const values: Record<string, number[]> = {};
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const target of targets) {
      const bps = await runIperf(target.addr, options.secs);
      (values[target.name] ??= []).push(bps);
      log(rep, options, "iperf3 bulk", target.name, `${(bps / 1e9).toFixed(2)} Gbit/s`);
    }
  }
  for (const target of targets.slice(1)) await target.stop();
  await server.stop();
  return {
    id: "bulk",
    test: "bulk transfer (iperf3, 1 stream)",
    unit: "Gbit/s",
    values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, median(v) / 1e9])),
  };
}

async function http(
  group: ProcessGroup,
  engines: readonly EngineName[],
  options: BenchOptions,
): Promise<BenchExtra[]> {
  const server = await startNginxHttp(group);
  const targets = await proxiesTo(group, server, engines);
  const extra: BenchExtra[] = [];
  for (const connections of WRK_CONNECTIONS) {
    const values: Record<string, number[]> = {};
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const target of targets) {
        const rps = await runWrk(target.addr, connections, options.secs);
        (values[target.name] ??= []).push(rps);
        log(rep, options, `http c=${connections}`, target.name, `${Math.round(rps)} req/s`);
      }
    }
    extra.push({
      id: `http-${connections}`,
      test: `HTTP keep-alive (wrk, ${connections} conns → nginx)`,
      unit: "req/s",
      values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, median(v)])),
    });
  }
  for (const target of targets.slice(1)) await target.stop();
  await server.stop();
  return extra;
}

/**
 * Bulk transfer (iperf3) and HTTP keep-alive (wrk → proxy → nginx) rows, medians over reps;
 * each is skipped with a one-line note when its peer is not installed.
 *
 * @param group Process tracking.
 * @param engines Our proxy's engines, one row each.
 * @param options Repetitions and seconds.
 * @returns The rows that ran.
 * @example
 * ```ts
 * const extra = await bulkAndHttp(group, ["epoll", "deno"], parseBenchArgs(["--quick"]));
 * ```
 */
export async function bulkAndHttp(
  group: ProcessGroup,
  engines: readonly EngineName[],
  options: BenchOptions,
): Promise<BenchExtra[]> {
  const extra: BenchExtra[] = [];
  if (!options.only.has("bulk")) {
    // Not asked for (--only).
  } else if (hasProgram("iperf3")) extra.push(await bulk(group, engines, options));
  else console.log("note: iperf3 is not installed: no bulk-transfer rows (apt-get install iperf3)");
  if (!options.only.has("http")) {
    // Not asked for (--only).
  } else if (hasProgram("wrk") && hasProgram("nginx")) {
    extra.push(...await http(group, engines, options));
  } else console.log("note: wrk or nginx is not installed: no HTTP keep-alive rows");
  return extra;
}
