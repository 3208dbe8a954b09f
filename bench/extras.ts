/**
 * The measurements beside the ping-pong matrix: the C client cross-check, RSS per idle
 * connection, bulk transfer (iperf3) and HTTP keep-alive (wrk → proxy → nginx). Each runs on
 * fresh processes and stops them again; a missing peer skips its rows.
 *
 * @module
 */

import type { BenchOptions } from "./args.ts";
import { startHaproxy } from "./haproxy.ts";
import { runIperf, runWrk, startIperfServer } from "./iperf_wrk.ts";
import { rssPerIdleConnection } from "./memory.ts";
import { startNginxHttp, startNginxStream } from "./nginx.ts";
import { startOursByLabel } from "./ours.ts";
import { type BenchTarget, hasProgram, type ProcessGroup } from "./process_group.ts";
import type { BenchExtra } from "./table.ts";
import { median } from "./table.ts";
import { runPingpong } from "./yardsticks.ts";

/** Connection counts of the HTTP keep-alive rows. */
const WRK_CONNECTIONS = [10, 100] as const;

/**
 * A direct row plus our proxy, HAProxy and nginx (when installed) in front of `backend`.
 *
 * @param group Process tracking.
 * @param backend What they forward to.
 * @returns The targets, "direct" first.
 * @example
 * ```ts
 * const targets = await proxiesTo(group, await startIperfServer(group));
 * ```
 */
export async function proxiesTo(
  group: ProcessGroup,
  backend: BenchTarget,
): Promise<BenchTarget[]> {
  const list: BenchTarget[] = [{ ...backend, name: "direct", stop: async () => {} }];
  list.push(await startOursByLabel(group, "proxy", backend.addr));
  if (hasProgram("haproxy")) list.push(await startHaproxy(group, backend.addr));
  if (hasProgram("nginx")) {
    const nginx = startNginxStream(group, backend.addr);
    if (nginx) list.push(await nginx);
  }
  return list;
}

/** One row of the C-client cross-check. */
export interface CrossCheck {
  /** Target name. */
  target: string;
  /** What our load tester measured (req/s). */
  ours: number;
  /** What `pingpong.c` measured (req/s). */
  c: number;
}

/**
 * Run `pingpong.c` on the same targets and scenario the load tester ran, for the cross-check.
 *
 * @param binary The compiled `pingpong`.
 * @param targets Targets to run against.
 * @param scenario Connections and message size.
 * @param ours Our load tester's req/s per target name.
 * @param options Repetitions and seconds.
 * @returns One row per target.
 * @example
 * ```ts
 * const rows = await crossCheck(bin, [direct], { connections: 10, message_size: 1024 }, { direct: 9e4 }, options);
 * ```
 */
export async function crossCheck(
  binary: string,
  targets: readonly BenchTarget[],
  scenario: { connections: number; message_size: number },
  ours: Record<string, number>,
  options: BenchOptions,
): Promise<CrossCheck[]> {
  const rows: CrossCheck[] = [];
  for (const target of targets) {
    const runs: number[] = [];
    for (let rep = 0; rep < options.reps; rep++) {
      const result = await runPingpong(
        binary,
        target.addr,
        scenario.connections,
        scenario.message_size,
        options.secs,
      );
      runs.push(result.rps);
    }
    rows.push({ target: target.name, ours: ours[target.name] ?? NaN, c: median(runs) });
  }
  return rows;
}

/**
 * RSS per idle connection of fresh proxies: ours, the load balancer, HAProxy, nginx.
 *
 * @param group Process tracking.
 * @param backend The echo backend.
 * @param options How many idle connections.
 * @returns Bytes per connection per target.
 * @example
 * ```ts
 * const memory = await measureMemory(group, backend, parseBenchArgs(["--quick"]));
 * ```
 */
export async function measureMemory(
  group: ProcessGroup,
  backend: BenchTarget,
  options: BenchOptions,
): Promise<{ target: string; bytes: number }[]> {
  const memory: { target: string; bytes: number }[] = [];
  const fresh = (await proxiesTo(group, backend)).slice(1);
  fresh.push(await startOursByLabel(group, "lb", backend.addr));
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

async function bulk(group: ProcessGroup, options: BenchOptions): Promise<BenchExtra> {
  const server = await startIperfServer(group);
  const targets = await proxiesTo(group, server);
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
    test: "bulk transfer (iperf3, 1 stream)",
    unit: "Gbit/s",
    values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, median(v) / 1e9])),
  };
}

async function http(group: ProcessGroup, options: BenchOptions): Promise<BenchExtra[]> {
  const server = await startNginxHttp(group);
  const targets = await proxiesTo(group, server);
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
 * @param options Repetitions and seconds.
 * @returns The rows that ran.
 * @example
 * ```ts
 * const extra = await bulkAndHttp(group, parseBenchArgs(["--quick"]));
 * ```
 */
export async function bulkAndHttp(
  group: ProcessGroup,
  options: BenchOptions,
): Promise<BenchExtra[]> {
  const extra: BenchExtra[] = [];
  if (hasProgram("iperf3")) extra.push(await bulk(group, options));
  else console.log("note: iperf3 is not installed: no bulk-transfer rows (apt-get install iperf3)");
  if (hasProgram("wrk") && hasProgram("nginx")) extra.push(...await http(group, options));
  else console.log("note: wrk or nginx is not installed: no HTTP keep-alive rows");
  return extra;
}
