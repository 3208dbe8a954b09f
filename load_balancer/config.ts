/**
 * The load balancer's configuration schema, the `--backend` flag syntax, and the checks that
 * go beyond one key (in `config_check.ts`): backends, pools, routes, TLS files.
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
  FORWARDING_FIELDS,
  HEALTH_CHECK_FIELDS,
  LIMIT_FIELDS,
  loadConfig,
  parseTomlText,
  showValue,
  TLS_LISTEN_FIELDS,
  UPSTREAM_TLS_FIELDS,
  validateConfig,
  WORKERS_FIELDS,
} from "@monkey/shared";
import { checkLbConfig } from "./config_check.ts";

export {
  ADMIN_TOKEN_PATTERN,
  checkLbConfig,
  lbUsesTls,
  ownsUpstreamTls,
  poolUpstreamKeys,
  sniPatternProblem,
} from "./config_check.ts";
import { DISCOVERY_FIELDS } from "./discovery.ts";

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

/** Keys of `[health_check]` (shared with the proxy's check of its target). */
export const HEALTH_SCHEMA: typeof HEALTH_CHECK_FIELDS = HEALTH_CHECK_FIELDS;

/**
 * The upstream TLS keys of a `[pools.NAME]` table: each one left unset takes the top-level
 * value, so `upstream_tls = false` in a pool turns TLS off for it alone.
 */
export const POOL_UPSTREAM_TLS_FIELDS = {
  upstream_tls: {
    type: "boolean",
    optional: true,
    description: "Connect to the pool's backends over TLS; unset = the top-level upstream_tls",
  },
  upstream_ca: {
    type: "string",
    optional: true,
    description: "PEM CA certificate(s) of the pool's backends; unset = the top-level one",
  },
  upstream_sni: {
    type: "string",
    optional: true,
    description: "Server name sent and verified; unset = the top-level one, else the host",
  },
  upstream_tls_insecure: {
    type: "boolean",
    optional: true,
    description: "Do not verify the pool's backends (labs only); unset = the top-level one",
  },
} as const;

/** Keys of one `[pools.NAME]` table: a named group of backends with its own strategy. */
export const POOL_SCHEMA = {
  strategy: {
    type: "enum",
    values: STRATEGIES,
    default: "round_robin",
    description: `Balancing strategy of the pool: ${STRATEGIES.join(", ")}`,
  },
  health_check: {
    type: "table",
    fields: HEALTH_SCHEMA,
    description: "Active health checks of the pool's backends",
  },
  backends: {
    type: "tables",
    fields: BACKEND_SCHEMA,
    description: "The pool's backends, shaped like the top-level [[backends]]",
  },
  ...DISCOVERY_FIELDS,
  ...POOL_UPSTREAM_TLS_FIELDS,
} as const;

/** Keys of one `[[routes]]` table: matchers (all must match) and the pool they send to. */
export const ROUTE_SCHEMA = {
  pool: { type: "string", description: "Name of the pool matching clients go to" },
  sni: {
    type: "string",
    optional: true,
    description: "TLS server name: exact (a.example.com) or one-label wildcard (*.example.com)",
  },
  alpn: {
    type: "string",
    optional: true,
    description: "An ALPN protocol the client offers (h2, http/1.1, …)",
  },
  source: {
    type: "string",
    optional: true,
    description: "Client address block (CIDR, e.g. 10.0.0.0/8)",
  },
} as const;

/** What happens to a client without a TLS server name (plain TCP, or TLS without SNI). */
export const NO_SNI_ACTIONS = ["default_pool", "close"] as const;

/** The name the top-level `[[backends]]` pool goes by. */
export const DEFAULT_POOL_NAME = "default";

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
  ...WORKERS_FIELDS,
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
  ...TLS_LISTEN_FIELDS,
  ...UPSTREAM_TLS_FIELDS,
  inspect_timeout_ms: {
    type: "integer",
    default: 5000,
    min: 1,
    max: 600_000,
    description: "Milliseconds a client gets to send its TLS ClientHello (SNI/ALPN routes)",
  },
  default_pool: {
    type: "string",
    default: DEFAULT_POOL_NAME,
    description: "Pool of clients no route matches ('default': the top-level backends)",
  },
  no_sni: {
    type: "enum",
    values: NO_SNI_ACTIONS,
    default: "default_pool",
    description: "Clients without TLS SNI (SNI routes only): 'default_pool' or 'close'",
  },
  pools: {
    type: "tablemap",
    fields: POOL_SCHEMA,
    name: (name: string) =>
      /^[A-Za-z0-9_-]{1,64}$/.test(name)
        ? name === DEFAULT_POOL_NAME
          ? "the name 'default' is the top-level [[backends]]"
          : undefined
        : "expected a pool name of letters, digits, _ and -",
    description: "Named backend pools ([pools.NAME]); routes send clients to them",
  },
  routes: {
    type: "tables",
    fields: ROUTE_SCHEMA,
    flag: false,
    description: "Routes ([[routes]]): first match wins; the rest go to default_pool",
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
/** One `[pools.NAME]` table. */
export type PoolConfig = ConfigOf<typeof POOL_SCHEMA>;
/** One `[[routes]]` table. */
export type RouteConfig = ConfigOf<typeof ROUTE_SCHEMA>;

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
  const { config, configPath, help } = loadConfig(LB_SCHEMA, {
    args,
    name: "lb",
    answerCheck: false,
  });
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
export type LbConfigInput =
  & Partial<Omit<LbConfig, "health_check" | "backends" | "pools" | "routes">>
  & {
    /** Health check settings; missing keys take their defaults. */
    health_check?: Partial<HealthConfig>;
    /** Backends; only `addr` is required. */
    backends?: Partial<BackendConfig>[];
    /** Named pools; missing keys take their defaults. */
    pools?: Record<string, PoolConfigInput>;
    /** Routes; only `pool` is required. */
    routes?: Partial<RouteConfig>[];
  };

/** One pool as a library caller writes it (discovery and upstream TLS keys as in the file). */
export interface PoolConfigInput extends Partial<Omit<PoolConfig, "health_check" | "backends">> {
  /** Balancing strategy. @default "round_robin" */
  strategy?: StrategyName;
  /** Health check settings; missing keys take their defaults. */
  health_check?: Partial<HealthConfig>;
  /** Backends; only `addr` is required. */
  backends?: Partial<BackendConfig>[];
}

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
  const raw = withoutUndefined(input) as Record<string, unknown>;
  return checkLbConfig(validateConfig(LB_SCHEMA, raw, "config"), "config");
}

/** A copy of plain tables and arrays without the keys whose value is undefined. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== "object" || value === null || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) out[key] = withoutUndefined(item);
  }
  return out;
}
