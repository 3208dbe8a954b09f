/**
 * What a reload changes, computed without touching anything: the running configuration, the
 * backends as they are now (the admin API may have changed them since the last file) and the
 * new configuration go in; the backends to add, restore, update and remove, the
 * configuration to apply and one line per change come out.
 *
 * @module
 */

import type { BackendSettings } from "./backend.ts";
import type { LbConfig } from "./config.ts";
import type { NewBackend } from "./pool.ts";

/** Keys that need a restart: a reload keeps their running value and says so. */
export const RESTART_KEYS = [
  "listen_addr",
  "metrics_addr",
  "max_connections",
  "log_level",
  "metrics_log_interval_secs",
  "engine",
  "tls_cert",
  "tls_key",
  "tls_alpn",
  "upstream_tls",
  "upstream_ca",
  "upstream_sni",
  "upstream_tls_insecure",
] as const;

/** Keys applied to new connections, reported as `key old -> new`. */
export const LIVE_KEYS = [
  "connect_timeout_ms",
  "idle_timeout_secs",
  "retries",
  "proxy_protocol",
  "grace_period_secs",
  "relay",
] as const;

/** A kept value as a change line shows it. */
function showKept(value: unknown): string {
  return Array.isArray(value) ? `[${value.join(", ")}]` : String(value);
}

/** What the plan needs to know of a backend in the pool now. */
export interface LiveBackend {
  /** Normalised `host:port`. */
  readonly addr: string;
  /** Relative share. */
  readonly weight: number;
  /** Backup flag. */
  readonly backup: boolean;
  /** Connection cap. */
  readonly maxConnections: number;
  /** Being removed (drains out). */
  readonly removing: boolean;
  /** Connections open now. */
  readonly active: number;
  /** Where it came from; discovered (`dns`) backends are left to their discovery. */
  readonly source?: string;
}

/** A backend whose settings the reload sets. */
export interface BackendChange {
  /** Normalised `host:port`. */
  addr: string;
  /** Its settings from now on. */
  settings: BackendSettings;
}

/** What {@linkcode planReload} decided. */
export interface ReloadPlan {
  /** The configuration to run: the new one, with the restart-only keys kept as they are. */
  config: LbConfig;
  /** Backends to add. */
  add: NewBackend[];
  /** Backends being removed that the new configuration keeps (with its settings). */
  restore: BackendChange[];
  /** Backends in service whose settings the new configuration sets (changed or not). */
  update: BackendChange[];
  /** Addresses to drain and remove. */
  remove: string[];
  /** Whether the strategy changed (a fresh one is created). */
  strategyChanged: boolean;
  /** Whether `[health_check]` changed (checks restart). */
  healthChanged: boolean;
  /** One line per change, e.g. `added 127.0.0.1:8084`; never shows the admin token. */
  changes: string[];
}

/**
 * Compare the running configuration and backends with a new configuration.
 *
 * @param current The configuration in force.
 * @param next The new configuration (already validated and normalised).
 * @param backends The backends in the pool now, in order.
 * @returns The plan; nothing is changed.
 * @example
 * ```ts
 * const plan = planReload(running, next, pool.list());
 * for (const backend of plan.add) pool.add(backend);
 * ```
 */
export function planReload(
  current: LbConfig,
  next: LbConfig,
  backends: readonly LiveBackend[],
): ReloadPlan {
  const changes: string[] = [];
  const config: LbConfig = { ...next };
  for (const key of RESTART_KEYS) {
    if (JSON.stringify(current[key]) !== JSON.stringify(next[key])) {
      changes.push(`${key} change needs a restart; keeping ${showKept(current[key])}`);
    }
    (config as Record<string, unknown>)[key] = current[key];
  }
  // With TLS termination, accept_proxy chose the listener at start: a TLS socket when off, a
  // plain one (TLS after the header) when on. Turning it on needs that plain listener.
  if (
    current.tls_cert !== undefined && current.accept_proxy === "off" && next.accept_proxy !== "off"
  ) {
    config.accept_proxy = "off";
    changes.push(`accept_proxy change needs a restart with tls_cert; keeping 'off'`);
  }

  const live = new Map(backends.map((b) => [b.addr, b]));
  const plan: ReloadPlan = {
    config,
    add: [],
    restore: [],
    update: [],
    remove: [],
    strategyChanged: next.strategy !== current.strategy,
    healthChanged: JSON.stringify(next.health_check) !== JSON.stringify(current.health_check),
    changes,
  };
  for (const b of next.backends) {
    const addr = b.addr!;
    const settings = { weight: b.weight, backup: b.backup, max_connections: b.max_connections };
    const existing = live.get(addr);
    if (existing === undefined) {
      plan.add.push({ addr, ...settings });
      changes.push(`added ${addr}`);
      continue;
    }
    if (existing.removing) {
      plan.restore.push({ addr, settings });
      changes.push(`kept ${addr} (was being removed)`);
    } else {
      plan.update.push({ addr, settings });
    }
    if (existing.weight !== b.weight) {
      changes.push(`${addr} weight ${existing.weight} -> ${b.weight}`);
    }
    if (existing.backup !== b.backup) {
      changes.push(`${addr} backup ${existing.backup} -> ${b.backup}`);
    }
    if (existing.maxConnections !== b.max_connections) {
      changes.push(`${addr} max_connections ${existing.maxConnections} -> ${b.max_connections}`);
    }
  }
  const wanted = new Set(next.backends.map((b) => b.addr!));
  for (const existing of backends) {
    if (wanted.has(existing.addr) || existing.removing || existing.source === "dns") continue;
    plan.remove.push(existing.addr);
    changes.push(`removing ${existing.addr} (${existing.active} live connections drain)`);
  }
  if (plan.strategyChanged) changes.push(`strategy ${current.strategy} -> ${next.strategy}`);
  for (const key of LIVE_KEYS) {
    if (next[key] !== current[key]) changes.push(`${key} ${current[key]} -> ${next[key]}`);
  }
  if (next.admin_token !== current.admin_token) changes.push("admin_token changed");
  if (
    JSON.stringify([next.allow, next.deny]) !== JSON.stringify([current.allow, current.deny])
  ) {
    changes.push("allow/deny rules changed");
  }
  if (plan.healthChanged) changes.push("health_check settings changed");
  return plan;
}
