/**
 * Backends from DNS for one {@linkcode BackendPool}: the discovery config keys (the same at the
 * top level, for the default pool, and in a named pool), and the loop that keeps a pool's
 * discovered backends in step with the records. Static and admin backends of the pool are
 * never touched; an address that is already static stays static.
 *
 * - New backends start down when health checks run and the pool still has a backend in
 *   service, and join after `rise` passing checks; when nothing else is in service (first
 *   lookup, or every target changed at once) they start up, so the pool is never left empty
 *   waiting for checks.
 * - Vanished backends drain: live connections finish, then they leave.
 * - On a failed lookup (error, timeout, NXDOMAIN, empty answer) `on_failure = "keep"` keeps
 *   the last known set, `"clear"` drains every discovered backend.
 *
 * @module
 */

import {
  ConfigError,
  DEFAULT_MAX_WEIGHT,
  DiscoveryLoop,
  DNS_TIMEOUT_MS,
  DnsClient,
  type Logger,
  parseDiscovery,
  parseNameserver,
  resolveTargets,
} from "@monkey/shared";
import type { BackendPool } from "./pool.ts";

/** Shortest DNS query timeout used (very short refresh intervals). */
const MIN_DNS_TIMEOUT_MS = 100;

/** Discovery keys, spread into the top-level schema and a named pool's. */
export const DISCOVERY_FIELDS = {
  discovery: {
    type: "string",
    optional: true,
    description: "Backends from DNS: dns+srv://_svc._tcp.domain (SRV) or dns://name:port (A/AAAA)",
  },
  resolver: {
    type: "string",
    optional: true,
    description: "Nameserver host:port for discovery; unset = /etc/resolv.conf",
  },
  refresh_secs: {
    type: "number",
    default: 30,
    min: 0.05,
    max: 86_400,
    description: "Seconds between lookups when records carry no TTL, and the retry cap",
  },
  min_refresh_secs: {
    type: "number",
    default: 1,
    min: 0.05,
    max: 86_400,
    description: "Shortest interval between lookups (a record TTL below it is raised)",
  },
  max_refresh_secs: {
    type: "number",
    default: 300,
    min: 0.05,
    max: 86_400,
    description: "Longest interval between lookups (a record TTL above it is lowered)",
  },
  on_failure: {
    type: "enum",
    values: ["keep", "clear"],
    default: "keep",
    description: "On a DNS error, timeout, NXDOMAIN or empty answer: keep or clear the last set",
  },
} as const;

/** The discovery keys of a pool. */
export interface DiscoverySettings {
  /** `dns+srv://…` or `dns://name:port`, or undefined (no discovery). */
  discovery?: string | undefined;
  /** `host:port` of the nameserver, or undefined (the system's). */
  resolver?: string | undefined;
  /** Seconds between lookups without TTL. */
  refresh_secs: number;
  /** Lower bound of the interval. */
  min_refresh_secs: number;
  /** Upper bound of the interval. */
  max_refresh_secs: number;
  /** Failure policy. */
  on_failure: "keep" | "clear";
}

/**
 * Check the discovery keys of a configuration (or pool).
 *
 * @param settings The keys.
 * @param label The file and table named in messages, e.g. `lb.toml`.
 * @throws {ConfigError} On a bad `discovery` or `resolver` value, or min above max.
 * @example
 * ```ts
 * checkDiscoverySettings(config, "lb.toml");
 * ```
 */
export function checkDiscoverySettings(settings: DiscoverySettings, label: string): void {
  if (settings.discovery !== undefined) {
    try {
      parseDiscovery(settings.discovery);
    } catch (error) {
      throw new ConfigError(`Cannot parse 'discovery' in ${label}: ${(error as Error).message}`);
    }
  }
  if (settings.resolver !== undefined) {
    try {
      parseNameserver(settings.resolver);
    } catch {
      throw new ConfigError(
        `Cannot parse 'resolver' in ${label}: expected host:port or an IP, got '${settings.resolver}'`,
      );
    }
  }
  if (settings.min_refresh_secs > settings.max_refresh_secs) {
    throw new ConfigError(
      `Cannot use 'min_refresh_secs' ${settings.min_refresh_secs} in ${label}: it is above ` +
        `'max_refresh_secs' ${settings.max_refresh_secs}`,
    );
  }
}

/**
 * Whether a reload changes a pool's discovery keys (its loop then restarts).
 *
 * @param before The running keys.
 * @param after The new keys.
 * @returns True when one of them differs.
 * @example
 * ```ts
 * discoveryChanged(current, next); // false when only weights changed
 * ```
 */
export function discoveryChanged(before: DiscoverySettings, after: DiscoverySettings): boolean {
  const keys = (s: DiscoverySettings) => [
    s.discovery,
    s.resolver,
    s.refresh_secs,
    s.min_refresh_secs,
    s.max_refresh_secs,
    s.on_failure,
  ];
  return JSON.stringify(keys(before)) !== JSON.stringify(keys(after));
}

/** Options for {@linkcode attachDiscovery}. */
export interface AttachDiscoveryOptions {
  /** The pool's name in logs. @default "default" */
  name?: string;
  /** Whether active health checks run (new backends then wait for them). */
  healthChecks: () => boolean;
  /** Logger. */
  logger: Logger;
}

/**
 * Keep a pool's discovered backends in step with DNS; the first lookup starts at once.
 *
 * @param pool The pool.
 * @param settings Its discovery keys (`discovery` must be set).
 * @param options Health, counters, logger.
 * @returns The running loop (`stop()` it on shutdown or reload).
 * @example
 * ```ts
 * const loop = attachDiscovery(pool, config, { healthChecks: () => true, logger });
 * loop.failures; // failed lookups so far
 * await loop.stop();
 * ```
 */
export function attachDiscovery(
  pool: BackendPool,
  settings: DiscoverySettings,
  options: AttachDiscoveryOptions,
): DiscoveryLoop {
  const spec = parseDiscovery(settings.discovery!);
  const name = options.name ?? "default";
  // A lookup never outlasts the refresh interval (2 s at most, 100 ms at least per try).
  const timeoutMs = Math.max(
    MIN_DNS_TIMEOUT_MS,
    Math.min(DNS_TIMEOUT_MS, settings.refresh_secs * 1000),
  );
  const client = new DnsClient({
    timeoutMs,
    ...(settings.resolver === undefined
      ? {}
      : { nameservers: [parseNameserver(settings.resolver)] }),
  });
  const { logger } = options;
  const loop = new DiscoveryLoop(async (signal) => {
    return await resolveTargets(spec, client, { maxWeight: DEFAULT_MAX_WEIGHT, signal });
  }, {
    refreshSecs: settings.refresh_secs,
    minRefreshSecs: settings.min_refresh_secs,
    maxRefreshSecs: settings.max_refresh_secs,
    onFailure: settings.on_failure,
    apply: (targets) => {
      const wanted = new Map(targets.map((t) => [t.addr, t]));
      // Something stays in service (static, or discovered and still listed): new ones wait.
      const inService = pool.list().some((b) =>
        b.inService && !b.removing && (b.source !== "dns" || wanted.has(b.addr))
      );
      const startDown = options.healthChecks() && inService;
      for (const t of targets) {
        const existing = pool.get(t.addr);
        const change = { weight: t.weight, backup: t.backup };
        if (existing === undefined) {
          pool.add({ addr: t.addr, ...change, max_connections: 0, source: "dns", startDown });
          logger.info(`pool ${name}: discovered ${t.addr} (${spec.text})`);
        } else if (existing.source === "dns") {
          if (existing.removing) pool.restore(t.addr, { ...change, max_connections: 0 });
          else pool.update(t.addr, change);
        }
      }
      for (const b of pool.list()) {
        if (b.source !== "dns" || b.removing || wanted.has(b.addr)) continue;
        pool.remove(b.addr);
        logger.info(`pool ${name}: ${b.addr} left ${spec.text}; draining`);
      }
    },
    report: ({ kind, message }) => {
      if (kind === "failure") logger.warn(`pool ${name}: discovery ${spec.text}: ${message}`);
      else logger.info(`pool ${name}: discovery ${spec.text}: ${message}`);
    },
  });
  loop.start();
  return loop;
}
