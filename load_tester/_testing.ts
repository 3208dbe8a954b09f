/**
 * Load-tester test helpers: test servers (the project's echo server, and echo servers that
 * misbehave per chunk or close at once), a scenario with test-friendly defaults, and results
 * and reports built from chosen samples (for report, merge and baseline tests).
 *
 * @module
 */

import { startEcho } from "@monkey/echo";
import { acceptLoop, type DenoOutput, echoUntilEof, REPO_ROOT, runDeno } from "@monkey/testing";
import type { Scenario } from "./config.ts";
import { emptyErrorCounts } from "./errors.ts";
import { createHistogram, recordMicros } from "./histogram.ts";
import { buildResult, type RunReport, type ScenarioResult } from "./result.ts";

/** What the CLI tests grant the load tester: `deno task load-test`'s permissions less FFI. */
const CLI_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
  "--allow-env",
];

/**
 * Run the load tester's real program (`load_tester/main.ts`) to completion.
 *
 * @param args Its arguments.
 * @param env Extra environment variables.
 * @returns Exit code, stdout and stderr.
 */
export function runLoadTester(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<DenoOutput> {
  return runDeno(["run", ...CLI_PERMISSIONS, "load_tester/main.ts", ...args], REPO_ROOT, env);
}

/** The load tester's real program, started by {@linkcode spawnLoadTester}. */
export interface LoadTesterChild extends AsyncDisposable {
  /** The child process (stdout and stderr piped; stderr is read by this object). */
  readonly child: Deno.ChildProcess;
  /** What stderr has said so far. */
  readonly stderr: string;
  /**
   * Read stderr until what it has said matches `pattern`.
   *
   * @returns The match, or null when stderr ended first.
   */
  waitForStderr(pattern: RegExp): Promise<RegExpExecArray | null>;
  /**
   * Wait for the exit, reading the rest of stdout and stderr.
   *
   * @returns Exit code, all of stdout and all of stderr.
   */
  finish(): Promise<DenoOutput>;
}

/**
 * Start the load tester's real program (`load_tester/main.ts`), stdout and stderr piped; the
 * child is killed on dispose unless it has exited.
 *
 * @param args Its arguments.
 * @returns The child.
 * @example
 * ```ts
 * await using run = spawnLoadTester(["--target", echo.addr, "-d", "20"]);
 * await run.waitForStderr(/\ndefault: /);
 * run.child.kill("SIGINT");
 * const { code, stdout } = await run.finish();
 * ```
 */
export function spawnLoadTester(args: readonly string[]): LoadTesterChild {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CLI_PERMISSIONS, "load_tester/main.ts", ...args],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  const waitForStderr = async (pattern: RegExp) => {
    for (;;) {
      const match = pattern.exec(stderr);
      if (match) return match;
      const { value, done } = await reader.read();
      if (done) return null;
      stderr += value;
    }
  };
  return {
    child,
    get stderr() {
      return stderr;
    },
    waitForStderr,
    finish: async () => {
      const readRest = async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          stderr += value;
        }
      };
      const [status, stdout] = await Promise.all([
        child.status,
        new Response(child.stdout).text(),
        readRest(),
      ]);
      return { code: status.code, stdout, stderr };
    },
    [Symbol.asyncDispose]: () => {
      try {
        child.kill();
      } catch { /* exited */ }
      return Promise.resolve();
    },
  };
}

/** Bytes per fake request, each way. */
const FAKE_MESSAGE = 1024;

/** A server started for a test. */
export interface TestServer {
  /** `host:port`. */
  addr: string;
  /** Stop and close every connection. */
  close(): Promise<void>;
}

/**
 * Start the project's echo server on port 0.
 *
 * @returns The server.
 * @example
 * ```ts
 * const echo = echoServer();
 * await runScenario(scenario(), { target: echo.addr });
 * await echo.close();
 * ```
 */
export function echoServer(): TestServer {
  const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", log_level: "error" });
  return { addr: echo.addr, close: async () => void (await echo.shutdown(0)) };
}

/** What {@linkcode cliFixture} sets up for a CLI test. */
export interface CliFixture extends AsyncDisposable {
  /** The echo server's address. */
  addr: string;
  /** A temporary directory for result files. */
  dir: string;
  /** `--config /dev/null --target <addr>` and the given flags. */
  base: string[];
}

/**
 * Start the project's echo server and make a temporary directory, for a CLI test that writes
 * result files; disposing closes the server and removes the directory.
 *
 * @param flags Flags every run of the test takes (after `--config` and `--target`).
 * @returns The fixture.
 * @example
 * ```ts
 * await using fixture = await cliFixture(["-d", "0.3"]);
 * await runLoadTester([...fixture.base, "--out", `${fixture.dir}/a.json`]);
 * ```
 */
export async function cliFixture(flags: readonly string[]): Promise<CliFixture> {
  const echo = echoServer();
  const dir = await Deno.makeTempDir();
  return {
    addr: echo.addr,
    dir,
    base: ["--config", "/dev/null", "--target", echo.addr, ...flags],
    [Symbol.asyncDispose]: async () => {
      await echo.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** How a misbehaving server treats each chunk it echoes (`conn` numbers the connection). */
export type ChunkHook = (chunk: Uint8Array, conn: number) => Promise<void> | void;

/**
 * An echo server that calls `hook` on every chunk before echoing it (it may change the bytes
 * or wait); `closeAtOnce` closes every connection without reading.
 *
 * @param hook Called per chunk.
 * @param closeAtOnce Close accepted connections immediately.
 * @returns The server.
 * @example
 * ```ts
 * const flipper = customServer((chunk) => void (chunk[0]! ^= 1));
 * ```
 */
export function customServer(hook: ChunkHook, closeAtOnce = false): TestServer {
  let count = 0;
  const loop = acceptLoop(async (conn) => {
    if (closeAtOnce) return;
    const id = count++;
    await echoUntilEof(conn, { onChunk: (chunk) => hook(chunk, id) });
  });
  return { addr: loop.addr, close: () => loop.close() };
}

/**
 * A scenario with test-friendly defaults.
 *
 * @param overrides Keys to change.
 * @returns The scenario.
 * @example
 * ```ts
 * const s = scenario({ connections: 2, message_size: 100 });
 * ```
 */
export function scenario(overrides: Partial<Scenario> = {}): Scenario {
  return {
    name: "test",
    mode: "pingpong",
    connections: 4,
    duration_secs: 0.3,
    message_size: 1024,
    rate: 0,
    warmup_secs: 0,
    ...overrides,
  };
}

/** Options for {@linkcode fakeResult}. */
export interface FakeResultOptions {
  /** Seconds the samples span. @default 1 */
  duration?: number;
  /** Connections of the scenario. @default 10 */
  connections?: number;
  /** Mismatch errors. @default 0 */
  mismatches?: number;
}

/**
 * A scenario result with the given latency samples over `duration` seconds.
 *
 * @param name Scenario name.
 * @param samples Latencies in µs (one per request).
 * @param options Duration, connections, errors.
 * @returns The result.
 * @example
 * ```ts
 * const result = fakeResult("a", [100, 200, 300], { duration: 2 });
 * ```
 */
export function fakeResult(
  name: string,
  samples: readonly number[],
  options: FakeResultOptions = {},
): ScenarioResult {
  const latency = createHistogram();
  for (const v of samples) recordMicros(latency, v);
  const errors = emptyErrorCounts();
  errors.mismatch = options.mismatches ?? 0;
  return buildResult(
    {
      name,
      mode: "pingpong",
      connections: options.connections ?? 10,
      message_size: FAKE_MESSAGE,
      rate: 0,
    },
    {
      requests: samples.length,
      errors,
      duration_secs: options.duration ?? 1,
      latency,
      uncorrected: undefined,
      connect: undefined,
      bytes_up: samples.length * FAKE_MESSAGE,
      bytes_down: samples.length * FAKE_MESSAGE,
      samples: {},
      status_codes: {},
      mix: [{ request: "echo", requests: samples.length }],
      reconnects: 0,
      unfinished: 0,
    },
  );
}

/**
 * A run report holding `scenarios`.
 *
 * @param scenarios Results.
 * @returns The report.
 * @example
 * ```ts
 * const report = fakeReport([fakeResult("a", [100])]);
 * ```
 */
export function fakeReport(scenarios: ScenarioResult[]): RunReport {
  return {
    target: "127.0.0.1:3000",
    started_at: "2026-01-01T00:00:00.000Z",
    tool_version: "0.1.0",
    machine: { cpus: 2, os: "linux x86_64", deno: "2.9.6" },
    scenarios,
  };
}

/** Options for {@linkcode fakeShardReport}. */
export interface FakeShardOptions extends FakeResultOptions {
  /** The whole scenario's connections (what the shards add up to). @default 10 */
  totalConnections?: number;
  /** The run's start (it tells runs apart for `merge`). @default a time from `index` */
  startedAt?: string;
}

/**
 * The JSON result of shard `index` of `count` (`--shard I/N`) of one scenario, with the given
 * latency samples, as `merge` reads it.
 *
 * @param index The shard, 0-based.
 * @param count How many shards.
 * @param samples Latencies in µs (one per request).
 * @param options Duration, this shard's and the whole scenario's connections.
 * @returns The report.
 * @example
 * ```ts
 * const [a, b] = [fakeShardReport(0, 2, [100]), fakeShardReport(1, 2, [200])];
 * ```
 */
export function fakeShardReport(
  index: number,
  count: number,
  samples: readonly number[],
  options: FakeShardOptions = {},
): RunReport {
  const result = fakeResult("merged", samples, options);
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  result.shard = {
    index,
    count,
    totals: { connections: options.totalConnections ?? 10, rate: 0 },
    window: {
      start: new Date(start).toISOString(),
      end: new Date(start + result.duration_secs * 1000).toISOString(),
    },
  };
  return {
    ...fakeReport([result]),
    started_at: options.startedAt ?? new Date(start + index).toISOString(),
    shard: { index, count },
  };
}
