/**
 * `deno task bench` flags and the scenario matrix they select.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, ENGINE_CHOICES, type EngineChoice, parseTomlText } from "@monkey/shared";
import type { Scenario } from "@monkey/load-tester";

/** Usage line for `--help`. */
export const BENCH_USAGE =
  "Usage: deno task bench [--quick] [--reps N] [--secs S] [--json FILE] [--baseline FILE] " +
  "[--fail-on-regression PCT] [--client c|load-tester] [--client-engine auto|epoll|deno] " +
  "[--only SECTION,...]";

/** Who drives the matrix: the C `pingpong` yardstick, or our load tester. */
export const BENCH_CLIENTS = ["c", "load-tester"] as const;
/** One of {@linkcode BENCH_CLIENTS}. */
export type BenchClient = typeof BENCH_CLIENTS[number];

/**
 * The parts of a run, in the order they run: the ping-pong matrix, the load tester against
 * the C client, `GET /metrics` under load, RSS per idle connection, bulk transfer, HTTP
 * keep-alive, TLS termination, and the cost pairs (SNI passthrough, dashboards, limits).
 */
export const BENCH_SECTIONS = [
  "matrix",
  "client",
  "probe",
  "memory",
  "bulk",
  "http",
  "tls",
  "costs",
] as const;
/** One of {@linkcode BENCH_SECTIONS}. */
export type BenchSection = typeof BENCH_SECTIONS[number];

/** Bench settings. */
export interface BenchOptions {
  /** The short run: four scenarios, one repetition of 1 s. @default false */
  quick: boolean;
  /** Repetitions per cell (the table shows medians). @default 3, or 1 with --quick */
  reps: number;
  /** Seconds per run. @default 3, or 1 with --quick */
  secs: number;
  /** Save the run as JSON here. @default undefined */
  json: string | undefined;
  /** Compare with a run saved with --json. @default undefined */
  baseline: string | undefined;
  /** Exit 1 when a scenario is this many percent worse than the baseline. @default undefined */
  failOnRegression: number | undefined;
  /** Connections opened for the RSS-per-connection reading. @default 2000, or 500 with --quick */
  idleConnections: number;
  /**
   * I/O engine of the load tester that runs the ping-pong matrix in the bench process. The
   * deno engine by default: the epoll engine's in-process runs starve its own timers on a busy
   * machine (runs measured 0 requests or the wrong duration), and the matrix compares every
   * target with the same client anyway. The load tester check runs both engines regardless.
   * @default "deno"
   */
  clientEngine: EngineChoice;
  /**
   * The client of the ping-pong matrix: `c`, the C `pingpong` from `bench/c/` (built with
   * `cc`; the issue's goals are stated with it, and it is the cheapest client, so the servers'
   * differences are not blurred by the client's own cost), or `load-tester`, ours in the bench
   * process. Without a C compiler the load tester drives it anyway, with a note. TLS rows are
   * always driven by the load tester.
   * @default "c"
   */
  client: BenchClient;
  /** The sections that run (`--only`). @default every section */
  only: ReadonlySet<BenchSection>;
  /** `--help` was given: print {@linkcode BENCH_USAGE} and do nothing else. */
  help: boolean;
}

/** Scenarios `--quick` keeps. */
const QUICK_SCENARIOS = new Set(["baseline", "heavy-load", "stress-test", "big-data"]);

function numberFlag(flag: string, text: string | undefined, fallback: number, min: number) {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new ConfigError(
      `Cannot parse flag --${flag}: expected a number >= ${min}, got '${text}'`,
    );
  }
  return n;
}

function parseOnly(text: string | undefined): ReadonlySet<BenchSection> {
  if (text === undefined) return new Set(BENCH_SECTIONS);
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const unknown = names.find((name) => !(BENCH_SECTIONS as readonly string[]).includes(name));
  if (unknown !== undefined || names.length === 0) {
    throw new ConfigError(
      `Cannot parse flag --only: expected sections from ${BENCH_SECTIONS.join(", ")}, ` +
        `got '${unknown ?? text}'`,
    );
  }
  return new Set(names as BenchSection[]);
}

/**
 * Parse the bench's command line.
 *
 * @param args Command-line arguments.
 * @returns The settings.
 * @throws {ConfigError} On an unknown flag or a bad number (exit 2).
 * @example
 * ```ts
 * parseBenchArgs(["--quick", "--json", "run.json"]).reps; // 1
 * ```
 */
export function parseBenchArgs(args: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        quick: { type: "boolean" },
        reps: { type: "string" },
        secs: { type: "string" },
        json: { type: "string" },
        baseline: { type: "string" },
        "fail-on-regression": { type: "string" },
        "client-engine": { type: "string" },
        client: { type: "string" },
        only: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error; // parseArgs throws TypeErrors with a code
    throw new ConfigError(`Cannot parse command line: ${error.message.split("\n")[0]}`);
  }
  const quick = parsed.quick === true;
  const failOnRegression = parsed["fail-on-regression"];
  const clientEngine = parsed["client-engine"] ?? "deno";
  if (!(ENGINE_CHOICES as readonly string[]).includes(clientEngine)) {
    throw new ConfigError(
      `Cannot parse flag --client-engine: expected one of ${ENGINE_CHOICES.join(", ")}, ` +
        `got '${clientEngine}'`,
    );
  }
  const client = parsed.client ?? "c";
  if (!(BENCH_CLIENTS as readonly string[]).includes(client)) {
    throw new ConfigError(
      `Cannot parse flag --client: expected one of ${BENCH_CLIENTS.join(", ")}, got '${client}'`,
    );
  }
  return {
    only: parseOnly(parsed.only),
    quick,
    reps: Math.round(numberFlag("reps", parsed.reps, quick ? 1 : 3, 1)),
    secs: numberFlag("secs", parsed.secs, quick ? 1 : 3, 0.2),
    json: parsed.json,
    baseline: parsed.baseline,
    failOnRegression: failOnRegression === undefined
      ? undefined
      : numberFlag("fail-on-regression", failOnRegression, 10, 0),
    idleConnections: quick ? 500 : 2000,
    clientEngine: clientEngine as EngineChoice,
    client: client as BenchClient,
    help: parsed.help === true,
  };
}

/**
 * The seed's matrix (the `[[scenarios]]` of `load_test.toml`) as ping-pong runs of `secs`
 * seconds, or the quick subset.
 *
 * @param options Settings.
 * @param tomlText The text of `load_test.toml`.
 * @param file Its name, for error messages. @default "load_test.toml"
 * @returns The scenarios, in file order.
 * @throws {ConfigError} When the file has no scenarios.
 * @example
 * ```ts
 * const scenarios = benchScenarios(parseBenchArgs([]), Deno.readTextFileSync("load_test.toml"));
 * ```
 */
export function benchScenarios(
  options: BenchOptions,
  tomlText: string,
  file = "load_test.toml",
): Scenario[] {
  const parsed = parseTomlText(tomlText, file) as {
    scenarios?: { name: string; connections: number; message_size: number }[];
  };
  const seed = parsed.scenarios ?? [];
  if (seed.length === 0) {
    throw new ConfigError(`Cannot read the bench matrix: no [[scenarios]] in ${file}`);
  }
  return seed
    .filter((s) => !options.quick || QUICK_SCENARIOS.has(s.name))
    .map((s) => ({
      name: s.name,
      mode: "pingpong" as const,
      connections: s.connections,
      message_size: s.message_size,
      duration_secs: options.secs,
      rate: 0,
      warmup_secs: options.quick ? 0.2 : 0.5,
    }));
}
