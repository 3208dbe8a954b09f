/**
 * Our load tester as a user runs it: `bench/serve.ts load-test` (the package's CLI) in a
 * process of its own, with `--engine`, writing its JSON report to a file. The bench uses it
 * where the client must not share the bench's event loop: the load tester against the C
 * client, and the load under the `/metrics` probe.
 *
 * @module
 */

import type { EngineChoice } from "@monkey/shared";
import type { ScenarioResult } from "@monkey/load-tester";
import type { ProcessGroup } from "./process_group.ts";
import { SERVE_PERMISSIONS } from "./ours.ts";

const SERVE = new URL("./serve.ts", import.meta.url).pathname;
/** The load tester also writes its report and reads the CPU count. */
const LOAD_TEST_PERMISSIONS = [...SERVE_PERMISSIONS, "--allow-write", "--allow-sys"];
/** The first line the CLI prints, once its flags are read and before it connects. */
const STARTED = /\(engine: (\w+)/;
/** Longer than this beyond the run itself and the bench gives up on the process, ms. */
const SLACK_MS = 30_000;

/** One ping-pong run of the load tester CLI. */
export interface LoadTestRun {
  /** Target `host:port`. */
  target: string;
  /** Connections. */
  connections: number;
  /** Bytes per message. */
  message_size: number;
  /** Measured seconds. */
  secs: number;
  /** Unmeasured seconds first. @default 0 */
  warmup_secs?: number;
  /** `--engine`. @default "auto" */
  engine?: EngineChoice;
}

/** What {@linkcode runLoadTestProcess} returns. */
export interface LoadTestOutcome {
  /** The scenario's result from the JSON report. */
  result: ScenarioResult;
  /** The engine the CLI says it used (`epoll` or `deno`). */
  engine: string;
}

/**
 * The CLI's arguments for a run, after `serve.ts load-test`.
 *
 * @param run What to run.
 * @param out Where the JSON report goes.
 * @returns The flags.
 * @example
 * ```ts
 * loadTestArgs({ target: "127.0.0.1:9", connections: 10, message_size: 1024, secs: 1 }, "/tmp/r.json");
 * ```
 */
export function loadTestArgs(run: LoadTestRun, out: string): string[] {
  return [
    "--config=/dev/null",
    `--target=${run.target}`,
    "--mode=pingpong",
    `--connections=${run.connections}`,
    `--size=${run.message_size}`,
    `--duration=${run.secs}`,
    `--warmup=${run.warmup_secs ?? 0}`,
    `--engine=${run.engine ?? "auto"}`,
    "--format=json",
    `--out=${out}`,
    "--progress=false",
  ];
}

/**
 * Run the load tester CLI in its own process and read its report.
 *
 * @param group Process tracking (the process is stopped on Ctrl+C like every other).
 * @param run What to run.
 * @param onStarted Called once the CLI has read its flags and is about to connect (the
 *   `/metrics` probe starts polling then); its promise is awaited after the run.
 * @returns The scenario's result and the engine it ran on.
 * @throws {Error} When the process fails or writes no report.
 * @example
 * ```ts
 * const { result } = await runLoadTestProcess(group, {
 *   target: "127.0.0.1:8081", connections: 10, message_size: 1024, secs: 1, engine: "deno",
 * });
 * ```
 */
export async function runLoadTestProcess(
  group: ProcessGroup,
  run: LoadTestRun,
  onStarted?: (done: AbortSignal) => Promise<void>,
): Promise<LoadTestOutcome> {
  const out = `${group.tempDir()}/load-test.json`;
  const proc = group.spawn(Deno.execPath(), [
    "run",
    ...LOAD_TEST_PERMISSIONS,
    SERVE,
    "load-test",
    ...loadTestArgs(run, out),
  ]);
  const done = new AbortController();
  try {
    const started = await proc.waitForLine(STARTED, SLACK_MS);
    const during = onStarted?.(done.signal);
    const timeout = (run.secs + (run.warmup_secs ?? 0)) * 1000 + SLACK_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      proc.child.status,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no exit within ${timeout} ms`)), timeout);
      }),
    ]).finally(() => clearTimeout(timer));
    done.abort();
    await during;
    if (!status.success) throw new Error(`exit code ${status.code}`);
    const report = JSON.parse(await Deno.readTextFile(out)) as { scenarios: ScenarioResult[] };
    const result = report.scenarios[0];
    if (!result) throw new Error(`no scenario in ${out}`);
    return { result, engine: started[1]! };
  } catch (error) {
    throw new Error(
      `Cannot run the load tester (${loadTestArgs(run, out).join(" ")}): ${
        (error as Error).message
      }; last output: ${proc.lines.slice(-3).join(" | ")}`,
    );
  } finally {
    done.abort();
    await group.stop(proc);
  }
}
