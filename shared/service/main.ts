/**
 * What every `main.ts` shares: error-to-exit-code mapping, shutdown signals and the periodic
 * `[METRICS]` summary line.
 *
 * @module
 */

import {
  ConfigError,
  type ConfigOf,
  EarlyExit,
  helpText,
  loadConfig,
  type Schema,
} from "../config/mod.ts";
import { EXIT_CONFIG, EXIT_RUNTIME, ServiceError } from "./errors.ts";
import { Logger, type LogLevel } from "./logger.ts";
import { writePidFile } from "./pid_file.ts";

/**
 * Run a main function: config errors print one line and exit 2, anything else one line and
 * exit 1, never a stack trace; an {@linkcode EarlyExit} (`--version`, `--check`) prints its
 * answer on stdout and exits 0.
 *
 * @param main The program.
 * @returns Resolves when `main` does (the process may keep running for servers).
 * @example
 * ```ts
 * await runMain(async () => {
 *   const { config } = loadConfig(SCHEMA, { args: Deno.args });
 * });
 * ```
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof EarlyExit) {
      console.log(error.message);
      Deno.exit(0);
    }
    if (error instanceof ConfigError) {
      console.error(error.message);
      Deno.exit(EXIT_CONFIG);
    }
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    console.error(error instanceof ServiceError ? message : `error: ${message}`);
    Deno.exit(EXIT_RUNTIME);
  }
}

/** Exit code after a second signal forces the process out. */
const EXIT_FORCED = 130;
/**
 * A repeat within this many ms is the same Ctrl+C: under `deno task`, the terminal signals the
 * whole process group and `deno task` forwards the signal again, so one keypress arrives twice.
 */
const DUPLICATE_SIGNAL_MS = 300;

/**
 * On the first SIGINT or SIGTERM run `graceful`; a second signal exits at once. The log line
 * says how: "press Ctrl+C again" after SIGINT, "send SIGTERM again" after SIGTERM.
 *
 * @param graceful Drains and shuts the service down.
 * @param logger Where to say what is happening.
 * @returns A function removing the listeners (call it when shutdown is complete).
 * @example
 * ```ts
 * const remove = onShutdownSignals(async () => {
 *   await server.shutdown(30_000);
 *   remove();
 * }, logger);
 * ```
 */
export function onShutdownSignals(graceful: () => Promise<void>, logger: Logger): () => void {
  let startedAt: number | undefined;
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handler = (signal: Deno.Signal) => {
    if (startedAt !== undefined) {
      if (performance.now() - startedAt < DUPLICATE_SIGNAL_MS) return;
      logger.warn(`second signal (${signal}): exiting now`);
      Deno.exit(EXIT_FORCED);
    }
    startedAt = performance.now();
    const again = signal === "SIGINT" ? "press Ctrl+C again" : `send ${signal} again`;
    logger.info(`shutting down (${signal}): no new connections; ${again} to exit at once`);
    graceful().catch((error) => {
      logger.error(`shutdown failed: ${(error as Error).message}`);
      Deno.exit(EXIT_RUNTIME);
    });
  };
  const handlers = signals.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of handlers) Deno.addSignalListener(signal, listener);
  return () => {
    for (const [signal, listener] of handlers) Deno.removeSignalListener(signal, listener);
  };
}

/** While nothing changes, the same `[METRICS]` line is repeated at most this often (ms). */
export const IDLE_SUMMARY_REPEAT_MS = 5 * 60_000;

/** Options for {@linkcode startSummaryLogger}. */
export interface SummaryLoggerOptions {
  /** An unchanged line is written again after this many ms. @default IDLE_SUMMARY_REPEAT_MS */
  idleRepeatMs?: number;
}

/**
 * Log `line()` every `intervalSecs` (the seed's `[METRICS] active: 3 | total: 15 | …`), but
 * only when it differs from the last line written: an idle service writes the same line again
 * at most every `idleRepeatMs` (5 minutes), not every interval.
 *
 * The next line is scheduled only once the previous one is written, so a `line()` that hangs
 * (a cluster waiting on a worker) never stacks pending summaries; a `line()` that throws or
 * rejects is logged as a warning, never left as an unhandled rejection.
 *
 * @param intervalSecs Seconds between lines; 0 disables.
 * @param line Builds the line.
 * @param logger Where to write it.
 * @param options How often an unchanged line is repeated.
 * @returns A function that stops the logger.
 * @example
 * ```ts
 * const stop = startSummaryLogger(10, () => "[METRICS] active: 0", new Logger());
 * stop();
 * ```
 */
export function startSummaryLogger(
  intervalSecs: number,
  line: () => string | Promise<string>,
  logger: Logger,
  options: SummaryLoggerOptions = {},
): () => void {
  if (intervalSecs <= 0) return () => {};
  const repeatMs = options.idleRepeatMs ?? IDLE_SUMMARY_REPEAT_MS;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last: { text: string; at: number } | undefined;
  const tick = async () => {
    try {
      const text = await line();
      const now = performance.now();
      const repeat = last !== undefined && last.text === text && now - last.at < repeatMs;
      if (!stopped && !repeat) {
        logger.info(text);
        last = { text, at: now };
      }
    } catch (error) {
      if (!stopped) logger.warn(`cannot build the summary line: ${messageOf(error)}`);
    }
    if (!stopped) timer = setTimeout(tick, intervalSecs * 1000);
  };
  timer = setTimeout(tick, intervalSecs * 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}

/**
 * `1 connection`, `3 connections`.
 *
 * @param count How many.
 * @param noun The singular noun.
 * @returns The count and the noun, plural unless the count is 1.
 * @example
 * ```ts
 * plural(1, "connection"); // "1 connection"
 * ```
 */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Options every service's start function takes (a service may add its own). */
export interface StartServiceOptions {
  /** Logger. @default a console logger at the config's level */
  logger?: Logger;
  /** Share the listen port with other instances (SO_REUSEPORT), as workers do. @default false */
  reusePort?: boolean;
}

/** What a service's shutdown reports (a service may add its own totals). */
export interface ServiceShutdownSummary {
  /** Connections accepted over the whole run. */
  total_connections: number;
  /** Connections still open at the end of the grace period, then closed. */
  forced: number;
  /** Seconds the service ran. */
  uptime_secs: number;
}

/** What {@linkcode serviceMain} needs from a started service. */
export interface ServiceHandle {
  /** Bound listen address. */
  readonly addr: string;
  /** Bound metrics address, if any. */
  readonly metricsAddr: string | undefined;
  /** The periodic `[METRICS]` line. */
  summaryLine(): string | Promise<string>;
  /** Graceful shutdown with the configured grace period. */
  shutdown(): Promise<ServiceShutdownSummary>;
}

/** Options for {@linkcode serviceMain}. */
export interface ServiceMainOptions<S extends Schema, H extends ServiceHandle> {
  /** Service name for log lines, e.g. "proxy". */
  name: string;
  /** The config schema; must include `log_level` and `metrics_log_interval_secs`. */
  schema: S;
  /** Usage line for `--help`. */
  usage: string;
  /** Command-line arguments. */
  args: readonly string[];
  /** Starts the service. */
  start: (config: ConfigOf<S>, logger: Logger) => H | Promise<H>;
  /** The "listening" line, e.g. `proxying 127.0.0.1:3000 -> 127.0.0.1:8081`. */
  banner: (handle: H, config: ConfigOf<S>) => string;
}

/**
 * The whole life of a service process: load config (exit 2 on errors), start, log the banner
 * (with the PID) and periodic summaries, drain on SIGINT/SIGTERM, print the final summary.
 * Every service gets these flags from here: `--help`, `--version`, `--check` (validate the
 * configuration and exit 0, or 2 with the error, binding nothing), and the `pid_file` key
 * (written at start, removed at exit) when its schema has one.
 *
 * @param options Service name, schema, start function and banner.
 * @returns Resolves once the service is started (it keeps running until a signal).
 * @example
 * ```ts
 * await runMain(() =>
 *   serviceMain({
 *     name: "proxy",
 *     schema: PROXY_SCHEMA,
 *     usage: "deno task proxy [flags]",
 *     args: Deno.args,
 *     start: (config, logger) => startProxy(config, { logger }),
 *     banner: (proxy, config) => `proxying ${proxy.addr} -> ${config.target_addr}`,
 *   })
 * );
 * ```
 */
export async function serviceMain<S extends Schema, H extends ServiceHandle>(
  options: ServiceMainOptions<S, H>,
): Promise<void> {
  const loaded = loadConfig(options.schema, {
    args: options.args,
    name: options.name,
    answerCheck: false,
  });
  const { config, notices } = loaded;
  if (loaded.help) {
    console.log(helpText(options.usage, options.schema));
    return;
  }
  if (loaded.check) {
    for (const notice of notices) console.log(notice);
    console.log(
      `${options.name}: configuration ${loaded.configPath ?? "(defaults and flags)"} is valid`,
    );
    return;
  }
  const values = config as Record<string, unknown>;
  const logger = new Logger({ name: options.name, level: values["log_level"] as LogLevel });
  for (const notice of notices) logger.info(notice);
  const pidFile = values["pid_file"];
  const removePidFile = typeof pidFile === "string" ? writePidFile(pidFile) : () => {};
  let handle: H;
  try {
    handle = await options.start(config, logger);
  } catch (error) {
    removePidFile();
    throw error;
  }
  let stopSummary = () => {};
  const removeSignals = onShutdownSignals(async () => {
    const summary = await handle.shutdown();
    stopSummary();
    removeSignals();
    logger.info(await handle.summaryLine());
    logger.info(
      `stopped after ${summary.uptime_secs.toFixed(1)}s: ${
        plural(summary.total_connections, "connection")
      }` +
        (summary.forced > 0 ? `, ${summary.forced} closed at the end of the grace period` : ""),
    );
    removePidFile();
  }, logger);
  const metrics = handle.metricsAddr ? `; metrics on http://${handle.metricsAddr}/metrics` : "";
  logger.info(`${options.banner(handle, config)}${metrics} (pid ${Deno.pid})`);
  stopSummary = startSummaryLogger(
    values["metrics_log_interval_secs"] as number,
    handle.summaryLine,
    logger,
  );
}
