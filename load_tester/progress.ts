/**
 * The live progress line: rewritten in place on a terminal, plain lines otherwise.
 *
 * @module
 */

import { formatMicros } from "@monkey/shared";
import { totalErrors } from "./errors.ts";
import type { ScenarioResult } from "./result.ts";
import type { LiveStatus } from "./runner.ts";

/** Refresh interval on a terminal, ms. */
const TTY_INTERVAL_MS = 250;
/** Interval between plain lines when not a terminal, ms. */
const PLAIN_INTERVAL_MS = 2000;

/** Options for {@linkcode Progress}. */
export interface ProgressOptions {
  /** Rewrite one line in place. @default Deno.stderr.isTerminal() */
  tty?: boolean;
  /** Where lines go. @default stderr */
  write?: (text: string) => void;
}

/**
 * Prints a progress line per scenario: elapsed/total, current rate, p99 so far, errors.
 */
export class Progress {
  #tty: boolean;
  #write: (text: string) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #status: (() => LiveStatus) | undefined;
  #lastRequests = 0;
  #lastAt = 0;

  /**
   * Create a progress printer; nothing is printed until {@linkcode Progress.start}.
   *
   * @param options Terminal mode and output.
   */
  constructor(options: ProgressOptions = {}) {
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
    const encoder = new TextEncoder();
    this.#write = options.write ?? ((text) => Deno.stderr.writeSync(encoder.encode(text)));
  }

  /**
   * Start showing a scenario.
   *
   * @param status Returns the scenario's live status.
   */
  start(status: () => LiveStatus): void {
    this.stop();
    this.#status = status;
    this.#lastRequests = 0;
    this.#lastAt = performance.now();
    this.#timer = setInterval(
      () => this.#tick(),
      this.#tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS,
    );
  }

  /**
   * One progress line for a status.
   *
   * @param s The status.
   * @param rate Current requests/s.
   * @returns The line, without newline.
   */
  static line(s: LiveStatus, rate: number): string {
    const phase = s.warming_up
      ? "warming up"
      : `${s.elapsed_secs.toFixed(1)}/${s.duration_secs.toFixed(1)}s`;
    return `${s.scenario}: ${phase} | ${Math.round(rate).toLocaleString("en-US")} req/s | p99 ${
      formatMicros(s.latency.p99)
    } | errors ${totalErrors(s.errors)}`;
  }

  #tick(): void {
    if (this.#status === undefined) return;
    const s = this.#status();
    const now = performance.now();
    const rate = s.requests >= this.#lastRequests
      ? ((s.requests - this.#lastRequests) * 1000) / Math.max(1, now - this.#lastAt)
      : 0;
    this.#lastRequests = s.requests;
    this.#lastAt = now;
    const line = Progress.line(s, rate);
    this.#write(this.#tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /**
   * Stop the current line. With a result, leave one final line for the scenario (in place of
   * the live one on a terminal); without, just clear the live line.
   *
   * @param result The finished scenario.
   */
  stop(result?: ScenarioResult): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#status !== undefined && this.#tty) this.#write("\r\x1b[2K");
    this.#status = undefined;
    if (result !== undefined) {
      this.#write(
        `${result.name}: done in ${result.duration_secs.toFixed(1)}s | ${
          Math.round(result.rps).toLocaleString("en-US")
        } req/s | p99 ${formatMicros(result.latency_us.p99)} | errors ${result.errors.total}\n`,
      );
    }
  }
}
