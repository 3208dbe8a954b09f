/**
 * The EMFILE harness: run a service in a subprocess with a tiny descriptor table, exhaust it
 * with clients, free the descriptors, and see whether the service serves again.
 *
 * @module
 */

import { closeQuietly, echoUntilEof, readExactly, writeAll } from "./io.ts";
import { acceptLoop, dial } from "./peers.ts";
import { type LineProcess, REPO_ROOT, spawnLines } from "./process.ts";

const DEFAULT_MAX_FILES = 48;
const DEFAULT_RECOVER_MS = 10_000;
const ACCEPT_FAILED = /accept failed .*(Too many open files|os error 24)/;
const PROBE = "again";
/** Pause before another probe when the service closed one. */
const PROBE_RETRY_MS = 50;

/** Options for {@linkcode exhaustDescriptors}. */
export interface EmfileOptions {
  /**
   * The service's main module from the repository root, e.g. `"proxy/main.ts"`. It is run with
   * `--allow-net --allow-read` (plus `denoFlags`) and `--listen 127.0.0.1:0 --metrics
   * 127.0.0.1:0 --metrics-log-interval-secs 0`, and must log "accept failed … Too many open
   * files" when accept() fails.
   */
  main: string;
  /** The flag that names its upstream (`"--target"`, `"--backend"`): an echo peer is passed. */
  upstreamFlag: string;
  /** More `deno run` flags. @default [] */
  denoFlags?: readonly string[];
  /** More flags for the service. @default [] */
  flags?: readonly string[];
  /** The service's ready line: group 1 its listen address, group 2 its metrics address. */
  ready: RegExp;
  /** Clients opened to use up the descriptors (each sends one byte). */
  clients: number;
  /** Descriptors the process may hold: enough to start, far fewer than the clients. @default 48 */
  maxFiles?: number;
  /** How long the accept-failure line and then the recovery may take (the back-off tops out at 1 s). @default 10000 */
  recoverMs?: number;
}

/** A service that ran out of descriptors and got them back; disposing it kills the process. */
export interface EmfileRun extends AsyncDisposable {
  /** The service process (its output lines, `stop()`). */
  proc: LineProcess;
  /** Its listen address. */
  addr: string;
  /** Its metrics address (`host:port`). */
  metrics: string;
  /** What the first client after the shortage got back when it sent "again". */
  echoed: string;
}

/** The service's arguments after `deno`. */
function serviceArgs(options: EmfileOptions, upstream: string): string[] {
  return [
    "run",
    "--allow-net",
    "--allow-read",
    ...options.denoFlags ?? [],
    options.main,
    "--listen",
    "127.0.0.1:0",
    options.upstreamFlag,
    upstream,
    "--metrics",
    "127.0.0.1:0",
    "--metrics-log-interval-secs",
    "0",
    ...options.flags ?? [],
  ];
}

/**
 * Start a service under `ulimit -n maxFiles` in front of an echo peer, connect `clients` clients until its accept()
 * fails with EMFILE (it must log so), close them, then send one exchange through it. Without
 * a back-off on accept errors the accept loop dies and the exchange hangs: it is bounded by
 * `recoverMs` (the connection is closed then, and the read throws).
 *
 * @param options The service's main module, its ready line, the client count and limits.
 * @returns The running service and what the probe got back; dispose it to kill the process.
 * @throws {Error} When the service never starts, never hits EMFILE, or the probe fails.
 * @example
 * ```ts
 * await using run = await exhaustDescriptors({
 *   main: "proxy/main.ts",
 *   upstreamFlag: "--target",
 *   ready: /proxying (\S+) -> .*metrics on http:\/\/(\S+)\/metrics/,
 *   clients: 80,
 * });
 * assert.equal(run.echoed, "again");
 * ```
 */
export async function exhaustDescriptors(options: EmfileOptions): Promise<EmfileRun> {
  const recoverMs = options.recoverMs ?? DEFAULT_RECOVER_MS;
  const echo = acceptLoop((conn) => echoUntilEof(conn));
  // `bash -c 'ulimit -n N; exec deno …'`: the service runs with a small descriptor table.
  const proc = spawnLines("bash", [
    "-c",
    `ulimit -n ${options.maxFiles ?? DEFAULT_MAX_FILES} && exec "$0" "$@"`,
    Deno.execPath(),
    ...serviceArgs(options, echo.addr),
  ], { cwd: REPO_ROOT });
  const dispose = async () => {
    await proc[Symbol.asyncDispose]();
    await echo.close();
  };
  try {
    const [, addr, metrics] = await proc.waitForLine(options.ready);
    if (addr === undefined || metrics === undefined) {
      throw new Error(`ready pattern ${options.ready} must capture the address and metrics`);
    }
    const clients: Deno.TcpConn[] = [];
    try {
      // Clients connect (the kernel completes the handshake) until accept() fails.
      for (let i = 0; i < options.clients; i++) {
        const conn = await dial(addr);
        clients.push(conn);
        await writeAll(conn, new Uint8Array([i]));
      }
      await proc.waitForLine(ACCEPT_FAILED, recoverMs);
    } finally {
      for (const conn of clients) conn.close();
    }
    const echoed = await probe(addr, recoverMs);
    return { proc, addr, metrics, echoed, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/**
 * Send "again" through a new connection and read the echo, within `deadlineMs`. A probe the
 * service closes at once (accepted while the descriptors its previous clients held were still
 * being released, so its upstream connect failed with EMFILE) is retried until the deadline: a
 * dead accept loop still fails, as the probes then hang until the deadline.
 */
async function probe(addr: string, deadlineMs: number): Promise<string> {
  const end = performance.now() + deadlineMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const conn = await dial(addr);
    const deadline = setTimeout(() => closeQuietly(conn), Math.max(0, end - performance.now()));
    try {
      await writeAll(conn, new TextEncoder().encode(PROBE));
      return new TextDecoder().decode(await readExactly(conn, PROBE.length));
    } catch (error) {
      if (performance.now() + PROBE_RETRY_MS >= end) {
        throw new Error(
          `No echo from ${addr} within ${deadlineMs} ms of freeing the descriptors (the accept ` +
            `loop did not recover; ${attempts} probes): ${error}`,
          { cause: error },
        );
      }
    } finally {
      clearTimeout(deadline);
      closeQuietly(conn);
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_RETRY_MS));
  }
}
