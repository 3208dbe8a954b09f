/**
 * The load balancer's checks across keys: backend addresses (normalised, no duplicates per
 * pool), routes (known pools, valid SNI patterns, CIDR blocks), TLS files, the admin token.
 *
 * @module
 */

import {
  cidrItem,
  ConfigError,
  formatAddress,
  loadTlsCertificate,
  loadUpstreamTls,
  parseAddress,
  resolveTlsEngine,
  showValue,
  type TlsKeys,
  usesTls,
} from "@monkey/shared";
import type { BackendConfig, LbConfig, PoolConfig } from "./config.ts";
import { checkDiscoverySettings } from "./discovery.ts";

/**
 * What an admin token may contain: the characters of an RFC 6750 bearer token (`b64token`),
 * the ones Hono's `bearerAuth` accepts in an `Authorization` header.
 */
export const ADMIN_TOKEN_PATTERN: RegExp = /^[A-Za-z0-9._~+/-]+=*$/;

/** A DNS label: letters, digits, hyphens inside, at most 63 characters. */
const LABEL = "[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?";
/** An exact host name or a one-label wildcard (`*.example.com`). */
const SNI_PATTERN = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$`);

/**
 * Whether `pattern` is a valid `sni` matcher: a host name, or `*.` and a host name.
 *
 * @param pattern The matcher as written.
 * @returns A reason to reject it, or undefined.
 * @example
 * ```ts
 * sniPatternProblem("*.example.com"); // undefined
 * sniPatternProblem("a.*.com"); // "expected a host name or *.domain"
 * ```
 */
export function sniPatternProblem(pattern: string): string | undefined {
  const lower = pattern.toLowerCase();
  if (lower.length > 253 || !SNI_PATTERN.test(lower)) {
    return "expected a host name (a.example.com) or a wildcard (*.example.com)";
  }
  return undefined;
}

/**
 * Checks across keys: every backend has an address with a real port, and no address appears
 * twice in a pool; addresses are normalised (`[::1]:80`, no spaces). Routes name known pools
 * and valid matchers; `default_pool` exists; TLS files are readable and match.
 *
 * @param config A schema-valid configuration.
 * @param label The file (or "flags") named in messages.
 * @returns The same configuration with normalised backend addresses and SNI patterns.
 * @throws {ConfigError} On a missing or duplicate address or port 0, a route to an unknown
 *   pool, an invalid matcher, a bad TLS file, or an admin token with characters a bearer token
 *   cannot carry.
 * @example
 * ```ts
 * const config = checkLbConfig(validateConfig(LB_SCHEMA, { backends: [{ addr: "[::1]:80" }] }, "x"), "x");
 * ```
 */
export function checkLbConfig(config: LbConfig, label: string): LbConfig {
  checkBackends(config.backends, "backends", label);
  for (const [name, pool] of Object.entries(config.pools)) {
    checkBackends(pool.backends, `pools.${name}.backends`, label);
    checkDiscoverySettings(pool, `${label} [pools.${name}]`);
    if (ownsUpstreamTls(pool)) {
      loadUpstreamTls(poolUpstreamKeys(config, pool), `${label} [pools.${name}]`);
    }
  }
  checkRouting(config, label);
  loadTlsCertificate(config, label);
  loadUpstreamTls(config, label);
  if (lbUsesTls(config)) resolveTlsEngine(config.engine, true, label); // epoll + TLS: an error
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

/** Every backend of one list has an address with a real port, and no address appears twice. */
function checkBackends(backends: BackendConfig[], at: string, label: string): void {
  const seen = new Set<string>();
  backends.forEach((backend, i) => {
    const key = `'${at}[${i}].addr' in ${label}`;
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
}

/** Routes name known pools and carry valid matchers; `default_pool` exists. */
function checkRouting(config: LbConfig, label: string): void {
  const known = (name: string) => name === "default" || Object.hasOwn(config.pools, name);
  const names = ["default", ...Object.keys(config.pools)].join(", ");
  if (!known(config.default_pool)) {
    throw new ConfigError(
      `Cannot use 'default_pool' in ${label}: no such pool (pools: ${names}), got ${
        showValue(config.default_pool)
      }`,
    );
  }
  config.routes.forEach((route, i) => {
    const at = (key: string) => `'routes[${i}].${key}' in ${label}`;
    if (route.pool === undefined || !known(route.pool)) {
      throw new ConfigError(
        `Cannot use ${at("pool")}: no such pool (pools: ${names}), got ${showValue(route.pool)}`,
      );
    }
    if (route.sni !== undefined) {
      const problem = sniPatternProblem(route.sni);
      if (problem) {
        throw new ConfigError(`Cannot parse ${at("sni")}: ${problem}, got ${showValue(route.sni)}`);
      }
      route.sni = route.sni.toLowerCase();
    }
    if (route.alpn !== undefined && (route.alpn.length === 0 || route.alpn.length > 255)) {
      throw new ConfigError(
        `Cannot parse ${at("alpn")}: expected a protocol name of 1-255 bytes, got ${
          showValue(route.alpn)
        }`,
      );
    }
    if (route.source !== undefined) {
      const problem = cidrItem(route.source);
      if (problem) {
        throw new ConfigError(
          `Cannot parse ${at("source")}: ${problem}, got ${showValue(route.source)}`,
        );
      }
    }
    if (route.sni !== undefined && config.tls_cert !== undefined) {
      throw new ConfigError(
        `Cannot use ${at("sni")}: SNI routes pass TLS through and cannot be combined with ` +
          `tls_cert (termination), got ${showValue(route.sni)}`,
      );
    }
  });
}

/** The upstream TLS keys a pool may set (each unset one takes the top-level value). */
const UPSTREAM_KEYS = [
  "upstream_tls",
  "upstream_ca",
  "upstream_sni",
  "upstream_tls_insecure",
] as const;

/**
 * Whether a pool sets any upstream TLS key of its own (else it connects like the default pool).
 *
 * @param pool The `[pools.NAME]` table.
 * @returns True when one of `upstream_tls`, `upstream_ca`, `upstream_sni`,
 *   `upstream_tls_insecure` is set.
 * @example
 * ```ts
 * ownsUpstreamTls({ ...pool, upstream_tls: false }); // true
 * ```
 */
export function ownsUpstreamTls(pool: Partial<PoolConfig>): boolean {
  return UPSTREAM_KEYS.some((key) => pool[key] !== undefined);
}

/**
 * A pool's upstream TLS keys: its own, each unset one taken from the top level.
 *
 * @param top The top-level configuration.
 * @param pool The `[pools.NAME]` table.
 * @returns The keys in force for the pool.
 * @example
 * ```ts
 * poolUpstreamKeys({ upstream_tls: true, upstream_sni: "x" }, { upstream_sni: "y" }); // TLS to "y"
 * ```
 */
export function poolUpstreamKeys(top: TlsKeys, pool: Partial<PoolConfig>): TlsKeys {
  const keys: TlsKeys = {};
  for (const key of UPSTREAM_KEYS) {
    const value = pool[key] ?? top[key];
    if (value !== undefined) (keys as Record<string, unknown>)[key] = value;
  }
  return keys;
}

/**
 * Whether the balancer terminates or originates TLS anywhere (top level or a pool).
 *
 * @param config The configuration.
 * @returns True when it needs a TLS-capable engine.
 * @example
 * ```ts
 * lbUsesTls({ ...config, pools: { web: { ...pool, upstream_tls: true } } }); // true
 * ```
 */
export function lbUsesTls(config: LbConfig): boolean {
  return usesTls(config) ||
    Object.values(config.pools).some((pool) => poolUpstreamKeys(config, pool).upstream_tls);
}
