/**
 * What every bench target is built on: a {@linkcode ProcessGroup} that stops everything it
 * started (also on Ctrl+C or an error), free loopback ports, program lookup, and starting a
 * peer that listens on a known port.
 *
 * @module
 */

import { type LineProcess, spawnLines } from "@monkey/testing";

export { freePort } from "@monkey/testing";

/** How long a started process may take to listen, ms. */
export const READY_MS = 15_000;
/** Pause between connection attempts while waiting for a port, ms. */
const PORT_POLL_MS = 20;

/** A started process that serves TCP on `addr`. */
export interface BenchTarget {
  /** Short name shown in the table, e.g. "haproxy". */
  name: string;
  /** Where clients connect, `127.0.0.1:port`. */
  addr: string;
  /** The serving process (for RSS readings). */
  pid: number;
  /** Where its HTTP endpoint listens, when it has one (`127.0.0.1:port`). */
  metricsAddr?: string;
  /** The I/O engine it says it runs (our services: from the banner, e.g. `deno (TLS needs it)`). */
  engine?: string;
  /** Stop it. */
  stop(): Promise<void>;
}

/**
 * Tracks every process the bench starts so all are stopped, also on Ctrl+C or error;
 * `await using` stops them at the end of the scope.
 */
export class ProcessGroup implements AsyncDisposable {
  #procs = new Set<LineProcess>();
  #dirs = new Set<string>();

  /**
   * Start and track a process.
   *
   * @param command Program.
   * @param args Arguments.
   * @returns The process.
   * @example
   * ```ts
   * const group = new ProcessGroup();
   * const proc = group.spawn("haproxy", ["-db", "-f", "haproxy.cfg"]);
   * await group.stop(proc);
   * ```
   */
  spawn(command: string, args: readonly string[]): LineProcess {
    const proc = spawnLines(command, args);
    this.#procs.add(proc);
    return proc;
  }

  /**
   * A temporary directory removed on {@linkcode ProcessGroup.stopAll}.
   *
   * @returns Its path.
   * @example
   * ```ts
   * const dir = new ProcessGroup().tempDir();
   * ```
   */
  tempDir(): string {
    const dir = Deno.makeTempDirSync({ prefix: "monkey-bench-" });
    this.#dirs.add(dir);
    return dir;
  }

  /**
   * Stop one process.
   *
   * @param proc A process from {@linkcode ProcessGroup.spawn}.
   * @example
   * ```ts
   * const group = new ProcessGroup();
   * await group.stop(group.spawn("sleep", ["10"]));
   * ```
   */
  async stop(proc: LineProcess): Promise<void> {
    this.#procs.delete(proc);
    await proc.stop("SIGKILL");
  }

  /**
   * Stop everything still running and remove temporary directories.
   *
   * @example
   * ```ts
   * const group = new ProcessGroup();
   * await group.stopAll();
   * ```
   */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#procs].map((proc) => proc.stop("SIGKILL")));
    this.#procs.clear();
    for (const dir of this.#dirs) Deno.removeSync(dir, { recursive: true });
    this.#dirs.clear();
  }

  /** {@linkcode ProcessGroup.stopAll}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stopAll();
  }
}

/**
 * Whether a program is on PATH.
 *
 * @param program Name, e.g. "haproxy".
 * @returns True when `command -v` finds it.
 * @example
 * ```ts
 * if (!hasProgram("cc")) console.log("no C compiler");
 * ```
 */
export function hasProgram(program: string): boolean {
  if (!/^[\w.+-]+$/.test(program)) {
    throw new Error(`Cannot look up program: expected a plain name, got '${program}'`);
  }
  try {
    return new Deno.Command("sh", {
      args: ["-c", `command -v ${program}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/**
 * The port of a `host:port` address.
 *
 * @param addr E.g. `127.0.0.1:8081` or `[::1]:8081`.
 * @returns The port as text.
 * @example
 * ```ts
 * portOf("127.0.0.1:8081"); // "8081"
 * ```
 */
export function portOf(addr: string): string {
  return addr.slice(addr.lastIndexOf(":") + 1);
}

/**
 * Start a process listening on a fixed loopback port and wait until the port accepts.
 *
 * @param group Process tracking.
 * @param name Row name.
 * @param command Program.
 * @param args Arguments.
 * @param port The port it will listen on.
 * @returns The target.
 * @throws {Error} When the port does not accept within {@linkcode READY_MS}.
 * @example
 * ```ts
 * const group = new ProcessGroup();
 * const port = freePort();
 * const iperf = await startExternal(group, "iperf3", "iperf3", ["-s", "-p", String(port)], port);
 * ```
 */
export async function startExternal(
  group: ProcessGroup,
  name: string,
  command: string,
  args: readonly string[],
  port: number,
): Promise<BenchTarget> {
  const proc = group.spawn(command, args);
  const deadline = performance.now() + READY_MS;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
      if (performance.now() > deadline) {
        await group.stop(proc);
        throw new Error(
          `Cannot start ${name}: nothing listens on 127.0.0.1:${port} after ${READY_MS} ms: ${
            proc.lines.slice(-3).join(" | ")
          }`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, PORT_POLL_MS));
    }
  }
  return {
    name,
    addr: `127.0.0.1:${port}`,
    pid: proc.child.pid,
    stop: () => group.stop(proc),
  };
}

/** Linux clock ticks per second (USER_HZ) in `/proc/PID/stat`. */
const TICKS_PER_SEC = 100;

/**
 * CPU seconds (user + system) a process has used so far, from `/proc/PID/stat` (read with
 * `cat`: Deno reads another process's `/proc` entries only with --allow-all), or undefined
 * off Linux.
 *
 * @param pid The process.
 * @returns Its CPU seconds so far.
 * @example
 * ```ts
 * const before = await cpuSecs(target.pid);
 * ```
 */
export async function cpuSecs(pid: number): Promise<number | undefined> {
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
