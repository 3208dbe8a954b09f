/**
 * The load balancer's configuration schema, the `--backend` flag syntax, and the checks that
 * go beyond one key (duplicate backends, a backend without an address).
 *
 * @module
 */

import {
  ACCESS_FIELDS,
  CLIENT_GATE_FIELDS,
  commonFields,
  ConfigError,
  type ConfigOf,
  ENGINE_FIELDS,
  formatAddress,
  FORWARDING_FIELDS,
  LIMIT_FIELDS,
  loadConfig,
  parseAddress,
  parseTomlText,
  showValue,
  validateConfig,
} from "@monkey/shared";
import { checkDiscoverySettings, DISCOVERY_FIELDS } from "./discovery.ts";

/** The balancing strategies. */
export const STRATEGIES = [
  "round_robin",
  "weighted_round_robin",
  "least_connections",
  "random_two_choices",
  "consistent_hash",
  "least_latency",
] as const;

/** One balancing strategy name. */
export type StrategyName = typeof STRATEGIES[number];

/**
 * What an admin token may contain: the characters of an RFC 6750 bearer token (`b64token`),
 * the ones Hono's `bearerAuth` accepts in an `Authorization` header.
 */
export const ADMIN_TOKEN_PATTERN: RegExp = /^[A-Za-z0-9._~+/-]+=*$/;

/** Largest weight a backend may have. */
export const MAX_WEIGHT = 1000;

/** Keys of one `[[backends]]` table. */
export const BACKEND_SCHEMA = {
  addr: { type: "address", description: "Backend host:port" },
  weight: {
    type: "integer",
    default: 1,
    min: 1,
    max: MAX_WEIGHT,
    description: "Relative share of new connections",
  },
  backup: {
    type: "boolean",
    default: false,
    description: "Take traffic only when no primary backend is up",
  },
  max_connections: {
    type: "integer",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "Skip this backend while it has this many connections; 0 = unlimited",
  },
} as const;

/** Keys of `[health_check]`. */
export const HEALTH_SCHEMA = {
  interval_ms: {
    type: "integer",
    default: 2000,
    min: 0,
    max: 3_600_000,
    description: "Milliseconds between active checks of each backend; 0 = no active checks",
  },
  timeout_ms: {
    type: "integer",
    default: 1000,
    min: 1,
    max: 600_000,
    description: "A check slower than this fails",
  },
  rise: {
    type: "integer",
    default: 2,
    min: 1,
    max: 1000,
    description: "Consecutive successes that bring a down backend up",
  },
  fall: {
    type: "integer",
    default: 3,
    min: 1,
    max: 1000,
    description: "Consecutive failures that take an up backend down",
  },
  send: {
    type: "string",
    optional: true,
    description: "Text sent after connecting (TOML escapes like \\r\\n work)",
  },
  expect: {
    type: "string",
    optional: true,
    description: "Text the reply must contain for the check to pass",
  },
} as const;

/** Keys of `lb.toml`; each top-level key is also a flag. */
export const LB_SCHEMA = {
  listen_addr: {
    type: "address",
    default: "127.0.0.1:4000",
    aliases: ["listen"],
    description: "TCP address clients connect to",
  },
  ...commonFields("127.0.0.1:9092"),
  strategy: {
    type: "enum",
    values: STRATEGIES,
    default: "round_robin",
    description: `Balancing strategy: ${STRATEGIES.join(", ")}`,
  },
  connect_timeout_ms: {
    type: "integer",
    default: 2000,
    min: 1,
    max: 600_000,
    description: "Milliseconds to wait for a backend to accept before trying the next",
  },
  ...ENGINE_FIELDS,
  ...LIMIT_FIELDS,
  ...FORWARDING_FIELDS,
  workers: {
    type: "integer",
    default: 1,
    min: 1,
    max: 64,
    description: "Deno Workers sharing the listen port (SO_REUSEPORT); 1 = run on the main thread",
  },
  retries: {
    type: "integer",
    default: 2,
    min: 0,
    max: 100,
    description: "Other backends tried when a connect is refused or times out",
  },
  admin_token: {
    type: "string",
    optional: true,
    env: "MONKEY_ADMIN_TOKEN",
    description: "Bearer token of the admin API (env MONKEY_ADMIN_TOKEN); unset = read-only",
  },
  ...ACCESS_FIELDS,
  ...CLIENT_GATE_FIELDS,
  ...DISCOVERY_FIELDS,
  health_check: {
    type: "table",
    fields: HEALTH_SCHEMA,
    description: "Active health checks",
  },
  backends: {
    type: "tables",
    fields: BACKEND_SCHEMA,
    flag: "backend",
    fromFlag: parseBackendFlag,
    description: "Backend, repeatable: ADDR or ADDR,weight=3,backup,max_connections=100",
  },
} as const;

/** The load balancer's validated configuration. */
export type LbConfig = ConfigOf<typeof LB_SCHEMA>;
/** One backend as configured. */
export type BackendConfig = ConfigOf<typeof BACKEND_SCHEMA>;
/** The `[health_check]` table. */
export type HealthConfig = ConfigOf<typeof HEALTH_SCHEMA>;

/**
 * Turn one `--backend` value into a `[[backends]]` table: `ADDR` followed by comma-separated
 * `weight=N`, `max_connections=N` and the word `backup` (or `backup=true|false`). Values stay
 * text here; the schema validates them.
 *
 * @param value The flag's value, e.g. `127.0.0.1:8081,weight=3,backup`.
 * @returns The table.
 * @throws {ConfigError} On an unknown option.
 * @example
 * ```ts
 * parseBackendFlag("127.0.0.1:8081,weight=3,backup");
 * // { addr: "127.0.0.1:8081", weight: 3, backup: true }
 * ```
 */
export function parseBackendFlag(value: string): Record<string, unknown> {
  const [addr, ...options] = value.split(",").map((part) => part.trim());
  const table: Record<string, unknown> = { addr };
  for (const option of options) {
    const [key, raw] = option.split("=", 2) as [string, string | undefined];
    if (key === "backup" && (raw === undefined || raw === "true" || raw === "false")) {
      table["backup"] = raw !== "false";
    } else if ((key === "weight" || key === "max_connections") && raw !== undefined) {
      table[key] = /^\d+$/.test(raw) ? Number(raw) : raw;
    } else {
      throw new ConfigError(
        `Cannot parse flag --backend: expected ADDR[,weight=N][,backup][,max_connections=N], got ${
          showValue(value)
        }`,
      );
    }
  }
  return table;
}

/**
 * Checks across keys: every backend has an address with a real port, and no address appears
 * twice. Addresses are normalised (`[::1]:80`, no spaces).
 *
 * @param config A schema-valid configuration.
 * @param label The file (or "flags") named in messages.
 * @returns The same configuration with normalised backend addresses.
 * @throws {ConfigError} On a missing or duplicate address or port 0, or an admin token with
 * characters a bearer token cannot carry.
 * @example
 * ```ts
 * const config = checkLbConfig(validateConfig(LB_SCHEMA, { backends: [{ addr: "[::1]:80" }] }, "x"), "x");
 * ```
 */
export function checkLbConfig(config: LbConfig, label: string): LbConfig {
  const seen = new Set<string>();
  config.backends.forEach((backend, i) => {
    const key = `'backends[${i}].addr' in ${label}`;
    if (backend.addr === undefined) {
      throw new ConfigError(`Missing ${key}: every backend needs an address like "127.0.0.1:8081"`);
    }
    const parsed = parseAddress(backend.addr);
    if (parsed.port === 0) {
      throw new ConfigError(`Cannot parse ${key}: expected a port 1-65535, got '${backend.addr}'`);
    }
    const addr = formatAddress(parsed);
    if (seen.has(addr)) {
      throw new ConfigError(`Cannot parse ${key}: duplicate backend, got '${backend.addr}'`);
    }
    seen.add(addr);
    backend.addr = addr;
  });
  checkDiscoverySettings(config, label);
  if (config.admin_token === "") config.admin_token = undefined;
  if (config.admin_token !== undefined && !ADMIN_TOKEN_PATTERN.test(config.admin_token)) {
    // The value is a secret: name the rule, never the token.
    throw new ConfigError(
      `Cannot parse 'admin_token' in ${label}: expected letters, digits and -._~+/ (a bearer ` +
        `token, optionally ending in =), got a value with other characters`,
    );
  }
  return config;
}

/**
 * Read and validate the configuration from command-line arguments (`--config PATH` and
 * flags), the way `main.ts` does at start and on SIGHUP.
 *
 * @param args Command-line arguments.
 * @returns The configuration, the file read and whether `--help` was asked.
 * @throws {ConfigError} On any bad file, key, value or flag.
 * @example
 * ```ts
 * const { config } = loadLbConfig(["--config", "load_balancer/lb.toml", "--strategy", "least_connections"]);
 * ```
 */
export function loadLbConfig(
  args: readonly string[],
): { config: LbConfig; configPath: string | undefined; help: boolean } {
  const { config, configPath, help } = loadConfig(LB_SCHEMA, { args });
  return { config: checkLbConfig(config, configPath ?? "flags"), configPath, help };
}

/**
 * Parse and validate TOML text as a load balancer configuration (no flags).
 *
 * @param text TOML source.
 * @param label File name for messages.
 * @returns The configuration.
 * @throws {ConfigError} On bad TOML, keys or values.
 * @example
 * ```ts
 * const config = parseLbConfig('backends = [{ addr = "127.0.0.1:8081" }]', "lb.toml");
 * ```
 */
export function parseLbConfig(text: string, label: string): LbConfig {
  return checkLbConfig(validateConfig(LB_SCHEMA, parseTomlText(text, label), label), label);
}

/** A configuration as a library caller writes it: any key may be left out. */
export type LbConfigInput = Partial<Omit<LbConfig, "health_check" | "backends">> & {
  /** Health check settings; missing keys take their defaults. */
  health_check?: Partial<HealthConfig>;
  /** Backends; only `addr` is required. */
  backends?: Partial<BackendConfig>[];
};

/**
 * Fill a library caller's configuration with defaults (nested tables included) and check it
 * like a file: one schema, one set of rules.
 *
 * @param input Keys the caller set.
 * @returns A complete, checked configuration.
 * @throws {ConfigError} On a bad value.
 * @example
 * ```ts
 * normalizeLbConfig({ backends: [{ addr: "127.0.0.1:8081" }] }).health_check.interval_ms; // 2000
 * ```
 */
export function normalizeLbConfig(input: LbConfigInput): LbConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined) raw[key] = value;
  }
  if (input.health_check !== undefined) {
    raw["health_check"] = Object.fromEntries(
      Object.entries(input.health_check).filter(([, v]) => v !== undefined),
    );
  }
  return checkLbConfig(validateConfig(LB_SCHEMA, raw, "config"), "config");
}
