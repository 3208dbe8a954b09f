/**
 * The load tester's configuration: the seed's `load_test.toml` schema plus the new keys, and
 * turning file + flags into the list of scenarios to run.
 *
 * @module
 */

import {
  ConfigError,
  type ConfigOf,
  ENGINE_FIELDS,
  loadConfig,
  type LoadedConfig,
} from "@monkey/shared";

/** Load modes. */
export const MODES = ["pingpong", "churn"] as const;
/** A load mode: `pingpong` (the seed's) or `churn` (connect, one exchange, close). */
export type Mode = typeof MODES[number];
/** Output formats. */
export const FORMATS = ["table", "json", "csv", "markdown"] as const;
/** An output format. */
export type Format = typeof FORMATS[number];

/** The seed's defaults for single mode. */
export const DEFAULTS = {
  target_addr: "127.0.0.1:3000",
  connections: 10,
  duration_secs: 10,
  message_size: 1024,
  mode: "pingpong" as Mode,
  rate: 0,
  warmup_secs: 0,
} as const;

const MAX_CONNECTIONS = 100_000;
const MAX_DURATION_SECS = 86_400;
const MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
const MAX_RATE = 10_000_000;
const MAX_WORKERS = 256;

/** Keys one scenario may set; unset keys fall back to the top level, then the defaults. */
const SCENARIO_FIELDS = {
  name: { type: "string", optional: true, description: "Scenario name" },
  connections: {
    type: "integer",
    optional: true,
    min: 1,
    max: MAX_CONNECTIONS,
    description: "Concurrent connections",
  },
  duration_secs: {
    type: "duration",
    optional: true,
    min: 0.001,
    max: MAX_DURATION_SECS,
    description: "Measured seconds",
  },
  message_size: {
    type: "size",
    optional: true,
    min: 1,
    max: MAX_MESSAGE_SIZE,
    description: "Bytes per request",
  },
  mode: { type: "enum", values: MODES, optional: true, description: "pingpong or churn" },
  rate: {
    type: "number",
    optional: true,
    min: 0,
    max: MAX_RATE,
    description: "Total requests/s (open loop); 0 = closed loop",
  },
  warmup_secs: {
    type: "duration",
    optional: true,
    min: 0,
    max: MAX_DURATION_SECS,
    description: "Unmeasured seconds before the measurement",
  },
} as const;

/**
 * Keys of `load_test.toml`; each is also a flag. Keys a scenario can override have no schema
 * default, so "not given" can be told apart from "given the default value".
 */
export const LOAD_TEST_SCHEMA = {
  target_addr: {
    type: "address",
    optional: true,
    aliases: ["target"],
    description: `Address to load, host:port (default "${DEFAULTS.target_addr}")`,
  },
  connections: {
    ...SCENARIO_FIELDS.connections,
    short: "c",
    description: `Concurrent connections (default ${DEFAULTS.connections})`,
  },
  duration_secs: {
    ...SCENARIO_FIELDS.duration_secs,
    flag: "duration",
    aliases: ["duration-secs"],
    short: "d",
    description: `Measured duration: seconds, or 10s, 2m (default ${DEFAULTS.duration_secs})`,
  },
  message_size: {
    ...SCENARIO_FIELDS.message_size,
    flag: "size",
    aliases: ["message-size"],
    short: "s",
    description: `Bytes per request: a number, or 1KiB, 64KiB (default ${DEFAULTS.message_size})`,
  },
  mode: {
    ...SCENARIO_FIELDS.mode,
    description:
      "pingpong (write, wait for the echo) or churn (connect, exchange, close) (default pingpong)",
  },
  rate: {
    ...SCENARIO_FIELDS.rate,
    description:
      "Total requests/s, open loop (latency from the intended send time); 0 = closed loop (default 0)",
  },
  warmup_secs: {
    ...SCENARIO_FIELDS.warmup_secs,
    flag: "warmup",
    aliases: ["warmup-secs"],
    description: "Seconds of load before measuring (default 0)",
  },
  scenario: { type: "string", optional: true, description: "Run only the scenario with this name" },
  workers: {
    type: "integer",
    default: 1,
    min: 1,
    max: MAX_WORKERS,
    description: "Deno Workers the connections are spread over",
  },
  format: {
    type: "enum",
    values: FORMATS,
    default: "table",
    description: "Report format: table, json, csv or markdown",
  },
  out: {
    type: "string",
    optional: true,
    description: "Write the report to this file instead of stdout",
  },
  report: {
    type: "string",
    optional: true,
    description: "Also write a self-contained HTML report (latency plots) to this file",
  },
  baseline: {
    type: "string",
    optional: true,
    description: "A previous --format json result to compare with",
  },
  fail_on_regression: {
    type: "number",
    optional: true,
    min: 0,
    max: 1_000_000,
    description: "With --baseline: exit 1 when RPS fell or p99 rose by more than this %",
  },
  metrics_addr: {
    type: "address",
    allowOff: true,
    default: "off",
    aliases: ["metrics"],
    description: "Serve live counters and latency on this host:port, or 'off'",
  },
  ...ENGINE_FIELDS,
  timeout_secs: {
    type: "duration",
    default: 5,
    min: 0.001,
    max: 3600,
    flag: "timeout",
    description: "Connect timeout and the longest a request may wait for its echo",
  },
  find_capacity: {
    type: "boolean",
    default: false,
    description: "Search the highest open-loop rate meeting --slo with zero errors",
  },
  slo: {
    type: "string",
    default: "p99<2ms",
    description: "Latency objective for --find-capacity, e.g. p99<2ms, p999<10ms",
  },
  progress: {
    type: "boolean",
    default: true,
    description: "Print a live progress line per scenario on stderr",
  },
  scenarios: {
    type: "tables",
    fields: SCENARIO_FIELDS,
    flag: false,
    description: "Matrix scenarios ([[scenarios]])",
  },
} as const;

/** The validated file + flags. */
export type LoadTestConfig = ConfigOf<typeof LOAD_TEST_SCHEMA>;

/** One scenario, fully resolved. */
export interface Scenario {
  /** Name shown in reports. */
  name: string;
  /** Load mode. */
  mode: Mode;
  /** Concurrent connections. */
  connections: number;
  /** Measured seconds. */
  duration_secs: number;
  /** Bytes per request. */
  message_size: number;
  /** Total requests/s for open loop; 0 = closed loop. */
  rate: number;
  /** Unmeasured seconds before the measurement. */
  warmup_secs: number;
}

/** A service level objective: a percentile under a latency. */
export interface Slo {
  /** Percentile, e.g. 99 or 99.9. */
  percentile: number;
  /** Key of the latency summary, e.g. `p99`. */
  key: "p50" | "p90" | "p95" | "p99" | "p999" | "max";
  /** Limit in microseconds. */
  limitUs: number;
  /** The text it was parsed from. */
  text: string;
}

const SLO_KEYS: Record<string, Slo["key"]> = {
  p50: "p50",
  p90: "p90",
  p95: "p95",
  p99: "p99",
  "p99.9": "p999",
  p999: "p999",
  max: "max",
};
const SLO_PERCENTILES: Record<Slo["key"], number> = {
  p50: 50,
  p90: 90,
  p95: 95,
  p99: 99,
  p999: 99.9,
  max: 100,
};
const TIME_UNITS_US: Record<string, number> = { us: 1, "µs": 1, ms: 1000, s: 1_000_000 };

/**
 * Parse an SLO such as `p99<2ms`, `p99.9<500us`, `p50<1s`.
 *
 * @param text The objective.
 * @param origin Where it came from, for the error message.
 * @returns The parsed objective.
 * @throws {ConfigError} When the text is not an objective.
 */
export function parseSlo(text: string, origin = "flag --slo"): Slo {
  const match = /^\s*(p50|p90|p95|p99\.9|p999|p99|max)\s*<\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)\s*$/i
    .exec(text);
  if (!match) {
    throw new ConfigError(
      `Cannot parse ${origin}: expected a percentile under a latency like p99<2ms, got '${text}'`,
    );
  }
  const key = SLO_KEYS[match[1]!.toLowerCase()]!;
  return {
    key,
    percentile: SLO_PERCENTILES[key],
    limitUs: Number(match[2]) * TIME_UNITS_US[match[3]!.toLowerCase()]!,
    text: text.trim(),
  };
}

/** What {@linkcode loadTestConfig} returns. */
export interface ResolvedConfig {
  /** The validated file + flags. */
  config: LoadTestConfig;
  /** The target address. */
  target: string;
  /** Scenarios to run, in order. */
  scenarios: Scenario[];
  /** True when the file has `[[scenarios]]` (the matrix table is printed). */
  matrix: boolean;
  /** The file read, if any. */
  configPath: string | undefined;
  /** Positional arguments (`merge a.json b.json`). */
  positionals: string[];
  /** True when `--help` was given. */
  help: boolean;
  /** Parsed `--slo`. */
  slo: Slo;
}

/** Config file read when `--config` is not given. */
export const DEFAULT_CONFIG_PATH = "load_test.toml";

/** Options for {@linkcode loadTestConfig}. */
export interface LoadTestConfigOptions {
  /** Config file read when `--config` is not given. @default "load_test.toml" */
  defaultConfigPath?: string;
}

/**
 * Read `load_test.toml` (or `--config`), apply flags and resolve the scenarios. A flag given on
 * the command line overrides the same key in every scenario; a scenario's own key overrides
 * the file's top level, which overrides the seed's defaults.
 *
 * @param args Command-line arguments.
 * @param options Default config path.
 * @returns The scenarios and settings.
 * @throws {ConfigError} On a bad file, key, value or flag, or an unknown `--scenario`.
 * @example
 * ```ts
 * const { scenarios } = loadTestConfig(["--target", "127.0.0.1:8081", "-c", "4", "-d", "1s"]);
 * ```
 */
export function loadTestConfig(
  args: readonly string[],
  options: LoadTestConfigOptions = {},
): ResolvedConfig {
  const loaded: LoadedConfig<typeof LOAD_TEST_SCHEMA> = loadConfig(LOAD_TEST_SCHEMA, {
    args,
    defaultConfigPath: options.defaultConfigPath ?? DEFAULT_CONFIG_PATH,
    allowPositionals: true,
  });
  const config = loaded.config;
  // The same flags without any file: exactly the keys given on the command line.
  const flags =
    loadConfig(LOAD_TEST_SCHEMA, { args: withoutConfigFlag(args), allowPositionals: true })
      .config;
  const top: Omit<Scenario, "name"> = {
    mode: config.mode ?? DEFAULTS.mode,
    connections: config.connections ?? DEFAULTS.connections,
    duration_secs: config.duration_secs ?? DEFAULTS.duration_secs,
    message_size: config.message_size ?? DEFAULTS.message_size,
    rate: config.rate ?? DEFAULTS.rate,
    warmup_secs: config.warmup_secs ?? DEFAULTS.warmup_secs,
  };
  const matrix = config.scenarios.length > 0;
  let scenarios: Scenario[] = matrix
    ? config.scenarios.map((s, i) => ({
      name: s.name ?? `scenario-${i + 1}`,
      mode: flags.mode ?? s.mode ?? top.mode,
      connections: flags.connections ?? s.connections ?? top.connections,
      duration_secs: flags.duration_secs ?? s.duration_secs ?? top.duration_secs,
      message_size: flags.message_size ?? s.message_size ?? top.message_size,
      rate: flags.rate ?? s.rate ?? top.rate,
      warmup_secs: flags.warmup_secs ?? s.warmup_secs ?? top.warmup_secs,
    }))
    : [{ name: "default", ...top }];
  if (config.scenario !== undefined) {
    const wanted = config.scenario;
    const found = scenarios.filter((s) => s.name === wanted);
    if (found.length === 0) {
      const label = loaded.configPath ?? "the command line";
      throw new ConfigError(
        `Cannot parse flag --scenario: no scenario named '${wanted}' in ${label} (known: ${
          scenarios.map((s) => s.name).join(", ")
        })`,
      );
    }
    scenarios = found;
  }
  if (config.fail_on_regression !== undefined && config.baseline === undefined) {
    throw new ConfigError(
      `Cannot parse flag --fail-on-regression: it needs --baseline FILE, got '${config.fail_on_regression}'`,
    );
  }
  return {
    config,
    target: config.target_addr ?? DEFAULTS.target_addr,
    scenarios,
    matrix,
    configPath: loaded.configPath,
    positionals: loaded.positionals,
    help: loaded.help,
    slo: parseSlo(
      config.slo,
      flags.slo !== LOAD_TEST_SCHEMA.slo.default || loaded.configPath === undefined
        ? "flag --slo"
        : `'slo' in ${loaded.configPath}`,
    ),
  };
}

function withoutConfigFlag(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--config") {
      i++;
      continue;
    }
    if (arg.startsWith("--config=")) continue;
    out.push(arg);
  }
  return out;
}
