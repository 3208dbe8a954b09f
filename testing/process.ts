/**
 * Child processes whose output is read line by line: the bench starts services and peers with
 * it, tests start CLIs with it.
 *
 * @module
 */

/** A running child process with its output collected as lines. */
export interface LineProcess extends AsyncDisposable {
  /** The child process. */
  child: Deno.ChildProcess;
  /** Every stdout and stderr line so far. */
  lines: string[];
  /**
   * Resolve with the first line (past or future) matching `pattern`.
   *
   * @throws {Error} After `timeoutMs`, or when the process exits first.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Send a signal (default SIGTERM) and wait for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Options for {@linkcode spawnLines}. */
export interface SpawnLinesOptions {
  /** Working directory. @default the current one */
  cwd?: string;
  /** Extra environment variables. @default { NO_COLOR: "1" } */
  env?: Record<string, string>;
}

const DEFAULT_WAIT_MS = 10_000;

/**
 * Start `command args…` with piped stdout and stderr collected into lines.
 *
 * @param command Program to run.
 * @param args Its arguments.
 * @param options Working directory and environment.
 * @returns The running process.
 * @throws {Deno.errors.NotFound} When the program does not exist.
 * @example
 * ```ts
 * await using proc = spawnLines("haproxy", ["-db", "-f", "haproxy.cfg"]);
 * ```
 */
export function spawnLines(
  command: string,
  args: readonly string[],
  options: SpawnLinesOptions = {},
): LineProcess {
  const child = new Deno.Command(command, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env ?? { NO_COLOR: "1" },
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  }).spawn();
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of waiters) wake();
  };
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
      wakeAll();
    }
    if (rest) lines.push(rest);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then(async (s) => {
    await pumps;
    exited = true;
    wakeAll();
    return s;
  });
  const waitForLine = (pattern: RegExp, timeoutMs = DEFAULT_WAIT_MS) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      const check = () => {
        for (const line of lines) {
          const match = pattern.exec(line);
          if (match) return finish(() => resolve(match));
        }
        if (exited) {
          finish(() =>
            reject(new Error(`${command} exited before printing ${pattern}: ${lines.join(" | ")}`))
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`${command} printed no ${pattern} within ${timeoutMs} ms`))
          ),
        timeoutMs,
      );
      waiters.add(check);
      check();
    });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
    }
    return await status;
  };
  return {
    child,
    lines,
    waitForLine,
    stop,
    [Symbol.asyncDispose]: async () => void (await stop("SIGKILL")),
  };
}

/**
 * Run `deno <args>` from the repository root and collect its output lines as they come.
 *
 * @param args Arguments after `deno`, e.g. `["task", "proxy", "--listen", "127.0.0.1:0"]`.
 * @param cwd Working directory (the repository root).
 * @returns The running child.
 * @example
 * ```ts
 * await using proxy = spawnDeno(["run", "-A", "proxy/main.ts"], REPO_ROOT);
 * ```
 */
export function spawnDeno(args: string[], cwd: string): LineProcess {
  return spawnLines(Deno.execPath(), args, { cwd });
}

/** What {@linkcode runDeno} returns. */
export interface DenoOutput {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/**
 * Run `deno <args>` to completion.
 *
 * @param args Arguments after `deno`.
 * @param cwd Working directory.
 * @param env Extra environment variables (`NO_COLOR=1` is always set). @default {}
 * @returns Exit code and the stdout and stderr text.
 * @example
 * ```ts
 * const { code, stderr } = await runDeno(["run", "echo/main.ts", "--bogus"], REPO_ROOT);
 * ```
 */
export async function runDeno(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<DenoOutput> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd,
    stdin: "null",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** The repository root (the folder holding the workspace's `deno.json`). */
export const REPO_ROOT: string = new URL("../", import.meta.url).pathname;

/**
 * Run a tool, feeding `input` (stdin left open: `openssl s_client -quiet` ignores end of input),
 * and read its output until `done` says so or it exits; then stop it.
 *
 * @param cmd The program (`openssl`, `curl`, ...).
 * @param args Its arguments.
 * @param done Called with the output so far; true stops reading.
 * @param input Written to its stdin first. @default ""
 * @returns The output read, or undefined when the program is not installed.
 * @example
 * ```ts
 * const out = await runTool("curl", ["-sS", "http://127.0.0.1:9090/health"], () => false);
 * if (out === undefined) console.log("no curl here");
 * ```
 */
export async function runTool(
  cmd: string,
  args: string[],
  done: (out: string) => boolean,
  input = "",
): Promise<string | undefined> {
  let child;
  try {
    child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "null" })
      .spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  const reader = child.stdout.getReader();
  let out = "";
  while (!done(out)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    out += new TextDecoder().decode(value);
  }
  await writer.close().catch(() => {});
  reader.releaseLock();
  try {
    child.kill();
  } catch {
    // Exited already.
  }
  await child.stdout.cancel();
  await child.status;
  return out;
}
