/**
 * The C yardsticks in `bench/c/`: `echo_srv` (the fastest backend one core can be) and
 * `pingpong` (the cheapest closed-loop client). Built with `cc -O2` into a cache directory
 * (`bench/.build/` by default, gitignored) and rebuilt when a source is newer than its binary.
 *
 * @module
 */

import {
  type BenchTarget,
  hasProgram,
  portOf,
  type ProcessGroup,
  READY_MS,
} from "./process_group.ts";

/** The C sources, beside this file. */
export const C_SOURCES = new URL("./c/", import.meta.url).pathname;
/** Where binaries are cached unless told otherwise. */
export const DEFAULT_BUILD_DIR = new URL("./.build/", import.meta.url).pathname;

/** Paths of the compiled yardsticks. */
export interface Yardsticks {
  /** `pingpong PORT CONNS SIZE SECS`. */
  pingpong: string;
  /** `echo_srv PORT`. */
  echoSrv: string;
}

/** Options for {@linkcode buildYardsticks}. */
export interface BuildYardsticksOptions {
  /** Directory for the binaries. @default DEFAULT_BUILD_DIR (`bench/.build/`) */
  dir?: string;
  /** The C compiler. @default "cc" */
  cc?: string;
}

function mtime(path: string): number | undefined {
  try {
    return Deno.statSync(path).mtime?.getTime();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function compile(cc: string, source: string, binary: string): Promise<void> {
  const built = mtime(binary);
  const changed = mtime(source);
  if (built !== undefined && changed !== undefined && built >= changed) return;
  // Build beside the target and rename: a concurrent run never sees half a binary.
  const partial = `${binary}.${Deno.pid}.tmp`;
  const out = await new Deno.Command(cc, {
    args: ["-O2", "-Wall", "-o", partial, source],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 3).join(" | ");
    throw new Error(`Cannot compile ${source} with ${cc}: ${stderr}`);
  }
  await Deno.rename(partial, binary);
}

/**
 * Compile `pingpong.c` and `echo_srv.c` (skipped when the binaries are newer than the sources).
 *
 * @param options Build directory and compiler.
 * @returns The binaries, or a one-line reason when there is no C compiler.
 * @throws {Error} When a source does not compile.
 * @example
 * ```ts
 * const built = await buildYardsticks();
 * if ("skipped" in built) console.log(built.skipped);
 * else console.log(built.pingpong, built.echoSrv);
 * ```
 */
export async function buildYardsticks(
  options: BuildYardsticksOptions = {},
): Promise<Yardsticks | { skipped: string }> {
  const cc = options.cc ?? "cc";
  if (!hasProgram(cc)) {
    return { skipped: `no C compiler ('${cc}' is not on PATH): skipping the C yardstick rows` };
  }
  const dir = options.dir ?? DEFAULT_BUILD_DIR;
  await Deno.mkdir(dir, { recursive: true });
  const yardsticks = { pingpong: `${dir}/pingpong`, echoSrv: `${dir}/echo_srv` };
  await compile(cc, `${C_SOURCES}pingpong.c`, yardsticks.pingpong);
  await compile(cc, `${C_SOURCES}echo_srv.c`, yardsticks.echoSrv);
  return yardsticks;
}

/**
 * Start `echo_srv` on a free loopback port and read the address it prints.
 *
 * @param group Process tracking.
 * @param binary Path of the compiled `echo_srv`.
 * @returns The target, named "echo_srv (C)".
 * @example
 * ```ts
 * const built = await buildYardsticks();
 * if (!("skipped" in built)) await startEchoSrv(new ProcessGroup(), built.echoSrv);
 * ```
 */
export async function startEchoSrv(group: ProcessGroup, binary: string): Promise<BenchTarget> {
  const proc = group.spawn(binary, ["0"]);
  const [, addr] = await proc.waitForLine(/^listening (\S+)/, READY_MS);
  return { name: "echo_srv (C)", addr: addr!, pid: proc.child.pid, stop: () => group.stop(proc) };
}

/** What `pingpong` prints, as numbers. */
export interface PingpongResult {
  /** Round trips per second. */
  rps: number;
  /** Median round trip, µs. */
  p50_us: number;
  /** 99th percentile, µs. */
  p99_us: number;
  /** Slowest round trip, µs. */
  max_us: number;
  /** Connections that failed or broke. */
  errors: number;
  /** Echoed payload, 10^6 bytes per second. */
  MBps: number;
}

/**
 * Parse `pingpong`'s line (`rps=N p50_us=N p99_us=N max_us=N errors=N MBps=N`).
 *
 * @param line Its output.
 * @returns The numbers.
 * @throws {Error} When a field is missing.
 * @example
 * ```ts
 * parsePingpong("rps=100 p50_us=60.5 p99_us=150 max_us=900 errors=0 MBps=0.1").rps; // 100
 * ```
 */
export function parsePingpong(line: string): PingpongResult {
  const field = (name: keyof PingpongResult) => {
    const match = new RegExp(`(?:^|\\s)${name}=([\\d.]+)`).exec(line);
    if (!match) throw new Error(`Cannot parse pingpong output: no ${name}= in '${line.trim()}'`);
    return Number(match[1]);
  };
  return {
    rps: field("rps"),
    p50_us: field("p50_us"),
    p99_us: field("p99_us"),
    max_us: field("max_us"),
    errors: field("errors"),
    MBps: field("MBps"),
  };
}

/**
 * Run the C ping-pong client against a loopback target.
 *
 * @param binary Path of the compiled `pingpong`.
 * @param addr Target (`127.0.0.1:port`; only the port is used).
 * @param connections Connections.
 * @param size Bytes per message.
 * @param secs Seconds.
 * @returns Its numbers.
 * @throws {Error} When it exits with an error.
 * @example
 * ```ts
 * const built = await buildYardsticks();
 * if (!("skipped" in built)) await runPingpong(built.pingpong, "127.0.0.1:8081", 10, 1024, 1);
 * ```
 */
export async function runPingpong(
  binary: string,
  addr: string,
  connections: number,
  size: number,
  secs: number,
): Promise<PingpongResult> {
  const out = await new Deno.Command(binary, {
    args: [portOf(addr), String(connections), String(size), String(secs)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot run pingpong against ${addr}: exit ${out.code}: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return parsePingpong(new TextDecoder().decode(out.stdout));
}
