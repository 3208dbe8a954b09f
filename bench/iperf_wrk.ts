/**
 * The bulk and HTTP load peers: iperf3 (one stream, bits per second) and wrk (HTTP keep-alive
 * requests per second). Debian/Ubuntu packages: `iperf3`, `wrk`.
 *
 * @module
 */

import {
  type BenchTarget,
  freePort,
  portOf,
  type ProcessGroup,
  startExternal,
} from "./process_group.ts";

/**
 * An iperf3 server on a free loopback port (it serves one test at a time; the bench runs
 * them in turn).
 *
 * @param group Process tracking.
 * @returns The target, named "iperf3".
 * @example
 * ```ts
 * const server = await startIperfServer(new ProcessGroup());
 * ```
 */
export function startIperfServer(group: ProcessGroup): Promise<BenchTarget> {
  const port = freePort();
  return startExternal(
    group,
    "iperf3",
    "iperf3",
    ["-s", "-B", "127.0.0.1", "-p", String(port)],
    port,
  );
}

/**
 * Bulk transfer with iperf3 through `addr` (client to server).
 *
 * @param addr Where the iperf3 client connects (the server itself or a proxy in front of it).
 * @param secs Seconds.
 * @returns Received bits per second, or NaN when the run failed.
 * @example
 * ```ts
 * const bps = await runIperf("127.0.0.1:5201", 1);
 * ```
 */
export async function runIperf(addr: string, secs: number): Promise<number> {
  const out = await new Deno.Command("iperf3", {
    args: ["-c", "127.0.0.1", "-p", portOf(addr), "-t", String(secs), "-J"],
    stderr: "null",
  }).output();
  try {
    const json = JSON.parse(new TextDecoder().decode(out.stdout));
    return Number(json.end?.sum_received?.bits_per_second ?? NaN);
  } catch (error) {
    if (error instanceof SyntaxError) return NaN;
    throw error;
  }
}

/**
 * HTTP keep-alive load with wrk (one thread) through `addr`.
 *
 * @param addr Target.
 * @param connections Connections.
 * @param secs Seconds (wrk takes whole seconds, at least 1).
 * @returns Requests per second, or NaN when the run failed.
 * @example
 * ```ts
 * const rps = await runWrk("127.0.0.1:8080", 10, 1);
 * ```
 */
export async function runWrk(addr: string, connections: number, secs: number): Promise<number> {
  const out = await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, `-d${Math.max(1, Math.round(secs))}s`, `http://${addr}/`],
    stderr: "null",
  }).output();
  const match = /Requests\/sec:\s+([\d.]+)/.exec(new TextDecoder().decode(out.stdout));
  return match ? Number(match[1]) : NaN;
}
