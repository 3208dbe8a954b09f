/**
 * The load tester's configuration: the seed's `load_test.toml` schema plus the new keys, and
 * turning file + flags into the list of scenarios to run.
 *
 * @module
 */

import { ConfigError, loadConfig, type LoadedConfig } from "@monkey/shared";
import type { ProtocolSpec } from "./protocols/types.ts";
import { DEFAULTS, LOAD_TEST_SCHEMA, type LoadTestConfig, type Mode } from "./schema.ts";
import { protocolFor } from "./_protocol_config.ts";
import { ECHO_PROTOCOL, validateProtocol } from "./protocols/mod.ts";
import { clientTlsFrom, type ClientTlsSettings } from "./client_tls.ts";
import { parseSlo, type Slo } from "./slo.ts";

export { parseSlo, type Slo } from "./slo.ts";
export * from "./schema.ts";

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
  /** The protocol and its settings. @default echo */
  protocol?: ProtocolSpec;
}

/** What {@linkcode loadTestConfig} returns. */
export interface ResolvedConfig {
  /** The validated file + flags. */
  config: LoadTestConfig;
  /** The target address. */
  target: string;
  /** Scenarios to run, in order. */
  scenarios: Scenario[];
  /**
   * True when the scenarios come from the file's `[[scenarios]]` (the matrix table is printed):
   * not when flags shaping a scenario (`-c`, `-d`, `-s`, `--mode`, `--rate`) are given without
   * `--config` or `--scenario`.
   */
  matrix: boolean;
  /** The file read, if any. */
  configPath: string | undefined;
  /** Positional arguments (`merge a.json b.json`). */
  positionals: string[];
  /** True when `--help` was given. */
  help: boolean;
  /** Parsed `--slo`. */
  slo: Slo;
  /** TLS settings (`--tls`, the CA read), or undefined for plain TCP. */
  tls: ClientTlsSettings | undefined;
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
  let loaded: LoadedConfig<typeof LOAD_TEST_SCHEMA>;
  try {
    loaded = loadConfig(LOAD_TEST_SCHEMA, {
      args,
      defaultConfigPath: options.defaultConfigPath ?? DEFAULT_CONFIG_PATH,
      allowPositionals: true,
    });
  } catch (error) {
    throw scenarioTypo(error);
  }
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
  // Flags that shape a scenario, without --config or --scenario, run one scenario from flags
  // (not every scenario of the default file, each made identical by the flags).
  const shaping = flags.connections !== undefined || flags.duration_secs !== undefined ||
    flags.message_size !== undefined || flags.mode !== undefined || flags.rate !== undefined;
  const configGiven = args.some((a) => a === "--config" || a.startsWith("--config="));
  const fromFlags = shaping && !configGiven && config.scenario === undefined;
  const matrix = config.scenarios.length > 0 && !fromFlags;
  const target = config.target_addr ?? DEFAULTS.target_addr;
  let scenarios: Scenario[] = matrix
    ? config.scenarios.map((s, i) => ({
      name: s.name ?? `scenario-${i + 1}`,
      mode: flags.mode ?? s.mode ?? top.mode,
      connections: flags.connections ?? s.connections ?? top.connections,
      duration_secs: flags.duration_secs ?? s.duration_secs ?? top.duration_secs,
      message_size: flags.message_size ?? s.message_size ?? top.message_size,
      rate: flags.rate ?? s.rate ?? top.rate,
      warmup_secs: flags.warmup_secs ?? s.warmup_secs ?? top.warmup_secs,
      ...protocolFor(config, flags, s, target),
    }))
    : [{ name: "default", ...top, ...protocolFor(config, flags, undefined, target) }];
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
  for (const s of scenarios) validateProtocol(s.protocol ?? ECHO_PROTOCOL, matrix ? s.name : "");
  if (config.fail_on_regression !== undefined && config.baseline === undefined) {
    throw new ConfigError(
      `Cannot parse flag --fail-on-regression: it needs --baseline FILE, got '${config.fail_on_regression}'`,
    );
  }
  return {
    config,
    target,
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
    tls: clientTlsFrom(config, tlsLabel(flags, loaded.configPath)),
  };
}

/** Where the TLS keys came from: "flags" when any is a flag, else the file. */
function tlsLabel(flags: LoadTestConfig, configPath: string | undefined): string {
  const fromFlags = flags.tls || flags.tls_insecure || flags.tls_ca !== undefined ||
    flags.tls_server_name !== undefined;
  return fromFlags || configPath === undefined ? "flags" : configPath;
}

/** `[[scenario]]` (singular) makes `scenario` an array of tables: say what was meant. */
function scenarioTypo(error: unknown): unknown {
  if (!(error instanceof ConfigError)) return error;
  const m = /^Cannot parse 'scenario' in (.+?): expected a string, got \[/.exec(error.message);
  if (!m) return error;
  return new ConfigError(
    `Cannot parse 'scenario' in ${m[1]}: scenario tables are written [[scenarios]] (plural); ` +
      `'scenario' names the one scenario to run, got [[scenario]]`,
  );
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
