/**
 * A tiny levelled logger: one line per event, nothing per chunk.
 *
 * @module
 */

/** Log levels, most to least severe. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/** Every level, for config validation. */
export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Where log lines go; tests pass an array-backed sink. */
export type LogSink = (line: string, level: LogLevel) => void;

/** Writes warnings and errors to stderr, the rest to stdout. */
export function consoleSink(line: string, level: LogLevel): void {
  if (RANK[level] <= RANK.warn) console.error(line);
  else console.log(line);
}

/** Options for {@linkcode Logger}. */
export interface LoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Name shown on each line, e.g. "proxy". @default "" */
  name?: string;
  /** Output. @default consoleSink */
  sink?: LogSink;
}

/**
 * Levelled logger writing `2026-11-27T19:40:00.000Z INFO  proxy: message` lines.
 *
 * @example
 * ```ts
 * const log = new Logger({ name: "proxy", level: "debug" });
 * log.info("listening on 127.0.0.1:3000");
 * ```
 */
export class Logger {
  #rank: number;
  #prefix: string;
  #sink: LogSink;

  /**
   * Create a logger.
   *
   * @param options Level, name and sink.
   */
  constructor(options: LoggerOptions = {}) {
    this.#rank = RANK[options.level ?? "info"];
    this.#prefix = options.name ? `${options.name}: ` : "";
    this.#sink = options.sink ?? consoleSink;
  }

  /**
   * Whether a level is written (guard expensive debug lines with it).
   * @param level The level.
   * @returns True when enabled.
   */
  enabled(level: LogLevel): boolean {
    return RANK[level] <= this.#rank;
  }

  #write(level: LogLevel, message: string): void {
    if (RANK[level] > this.#rank) return;
    const tag = level.toUpperCase().padEnd(5);
    this.#sink(`${new Date().toISOString()} ${tag} ${this.#prefix}${message}`, level);
  }

  /**
   * Write an error line.
   *
   * @param message The line.
   */
  error(message: string): void {
    this.#write("error", message);
  }
  /**
   * Write a warning line.
   *
   * @param message The line.
   */
  warn(message: string): void {
    this.#write("warn", message);
  }
  /**
   * Write an info line.
   *
   * @param message The line.
   */
  info(message: string): void {
    this.#write("info", message);
  }
  /**
   * Write a debug line.
   *
   * @param message The line.
   */
  debug(message: string): void {
    this.#write("debug", message);
  }
}

/**
 * Collects log lines in memory, for tests.
 *
 * @returns A logger options sink and the array it fills.
 */
export function memorySink(): { sink: LogSink; lines: string[] } {
  const lines: string[] = [];
  return { sink: (line) => lines.push(line), lines };
}

/** Default interval between repeated lines of one kind, in ms. */
export const THROTTLE_MS = 5000;

/**
 * Logs the first event of each kind at once and then at most one line per interval, saying
 * how many were folded in: a dead upstream does not flood the log.
 */
export class ThrottledLog {
  #logger: Logger;
  #intervalMs: number;
  #last = new Map<string, { at: number; suppressed: number }>();

  /**
   * @param logger Where lines go.
   * @param intervalMs Minimum ms between lines of one kind. @default THROTTLE_MS
   */
  constructor(logger: Logger, intervalMs: number = THROTTLE_MS) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  /**
   * Log a warning for `key` unless one was logged within the interval.
   *
   * @param key Kind of event, e.g. the target address and error kind.
   * @param message The line.
   */
  warn(key: string, message: string): void {
    const now = performance.now();
    const seen = this.#last.get(key);
    if (seen !== undefined && now - seen.at < this.#intervalMs) {
      seen.suppressed++;
      return;
    }
    const more = seen && seen.suppressed > 0
      ? ` (${seen.suppressed} more since the last report)`
      : "";
    this.#last.set(key, { at: now, suppressed: 0 });
    this.#logger.warn(message + more);
  }
}
