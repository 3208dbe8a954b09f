/**
 * Backends and the pool that holds them: per-backend counters, health and drain state, and
 * which backends may take the next connection (primaries first, backups when no primary is up).
 *
 * @module
 */

import type { RelayStats } from "@monkey/shared";
import type { BackendConfig } from "./config.ts";

/** What `GET /backends` shows as a backend's state. */
export type BackendState = "up" | "down" | "draining";

/** The last active health check of a backend. */
export interface CheckRecord {
  /** When it finished, ISO 8601. */
  time: string;
  /** `ok`, or why it failed (`refused`, `timeout`, `unexpected reply`, ...). */
  result: string;
  /** How long it took, in ms. */
  latency_ms: number;
}

/** One row of `GET /backends` (and of the JSON metrics). */
export interface BackendSnapshot {
  /** `host:port`. */
  addr: string;
  /** Relative share of new connections. */
  weight: number;
  /** Takes traffic only when no primary is up. */
  backup: boolean;
  /** Connection cap; 0 = unlimited. */
  max_connections: number;
  /** `up`, `down` (failed health checks) or `draining` (no new connections). */
  state: BackendState;
  /** Whether active health checks pass (independent of draining). */
  healthy: boolean;
  /** True after DELETE or a reload dropped it: removed once its connections finish. */
  removing: boolean;
  /** Connections open now (including ones being connected). */
  active_connections: number;
  /** Connections established since it was added. */
  total_connections: number;
  /** Bytes from clients to this backend. */
  bytes_in: number;
  /** Bytes from this backend to clients. */
  bytes_out: number;
  /** Failed connects (refused, timed out, unreachable). */
  connect_errors: number;
  /** Clients moved to another backend after a failed connect here. */
  retries: number;
  /** Failed active health checks. */
  health_check_failures: number;
  /** EWMA of connect time in ms (`null` before the first connect). */
  connect_latency_ms: number | null;
  /** The last active check, or `null` before the first. */
  last_check: CheckRecord | null;
}

/** Weight of a new sample in the connect-time EWMA. */
export const LATENCY_EWMA_ALPHA = 0.3;

/**
 * One backend: its settings, live counters, health and drain state. The data path calls
 * {@linkcode Backend.reserve}, then {@linkcode Backend.attach} or {@linkcode Backend.release},
 * and {@linkcode Backend.finish} when the relay ends.
 */
export class Backend {
  /** `host:port`, normalised. */
  readonly addr: string;
  /** Relative share of new connections (1 or more). */
  weight: number;
  /** Takes traffic only when no primary is up. */
  backup: boolean;
  /** Connection cap; 0 = unlimited. */
  maxConnections: number;
  /** Health as the checks see it. New backends start up. */
  healthy = true;
  /** No new connections (admin drain, removal). */
  draining = false;
  /** Removed from the pool once its last connection ends. */
  removing = false;
  /** Connections open or being connected. */
  active = 0;
  /** Connections established. */
  total = 0;
  /** Failed connects. */
  connectErrors = 0;
  /** Clients retried elsewhere after failing here. */
  retries = 0;
  /** Failed active checks. */
  checkFailures = 0;
  /** Consecutive failures (checks and connects) while up. */
  consecutiveFailures = 0;
  /** Consecutive successful checks while down. */
  consecutiveSuccesses = 0;
  /** EWMA of connect time in ms; undefined before the first sample. */
  latencyEwma: number | undefined;
  /** The last active check. */
  lastCheck: CheckRecord | undefined;
  #live = new Set<RelayStats>();
  #closedIn = 0;
  #closedOut = 0;
  #onIdle: (backend: Backend) => void;

  /**
   * @param config Address, weight, backup flag and connection cap.
   * @param onIdle Called when a removing backend's last connection ends.
   */
  constructor(config: BackendConfig & { addr: string }, onIdle: (backend: Backend) => void) {
    this.addr = config.addr;
    this.weight = config.weight;
    this.backup = config.backup;
    this.maxConnections = config.max_connections;
    this.#onIdle = onIdle;
  }

  /** `draining`, else `up` or `down`. */
  get state(): BackendState {
    return this.draining ? "draining" : this.healthy ? "up" : "down";
  }

  /** Healthy and not draining: may take new connections (if not full). */
  get inService(): boolean {
    return this.healthy && !this.draining;
  }

  /** At its `max_connections`. */
  get full(): boolean {
    return this.maxConnections > 0 && this.active >= this.maxConnections;
  }

  /** Bytes from clients to this backend, finished and live connections. */
  get bytesIn(): number {
    let sum = this.#closedIn;
    for (const stats of this.#live) sum += stats.up;
    return sum;
  }

  /** Bytes from this backend to clients, finished and live connections. */
  get bytesOut(): number {
    let sum = this.#closedOut;
    for (const stats of this.#live) sum += stats.down;
    return sum;
  }

  /** Count a connection being attempted (before connecting, so caps and least-conn see it). */
  reserve(): void {
    this.active++;
  }

  /** Undo {@linkcode Backend.reserve} after a failed connect. */
  release(): void {
    this.active--;
    this.#checkIdle();
  }

  /**
   * A reserved connection is established.
   *
   * @returns The counters the relay increments.
   */
  attach(): RelayStats {
    this.total++;
    const stats = { up: 0, down: 0 };
    this.#live.add(stats);
    return stats;
  }

  /**
   * An established connection ended.
   *
   * @param stats The counters from {@linkcode Backend.attach}.
   */
  finish(stats: RelayStats): void {
    if (this.#live.delete(stats)) {
      this.#closedIn += stats.up;
      this.#closedOut += stats.down;
    }
    this.active--;
    this.#checkIdle();
  }

  /**
   * Fold one connect time into the EWMA.
   *
   * @param ms Connect time in ms.
   */
  recordLatency(ms: number): void {
    this.latencyEwma = this.latencyEwma === undefined
      ? ms
      : this.latencyEwma + LATENCY_EWMA_ALPHA * (ms - this.latencyEwma);
  }

  #checkIdle(): void {
    if (this.removing && this.active === 0) this.#onIdle(this);
  }

  /** @returns The row for `GET /backends`. */
  snapshot(): BackendSnapshot {
    return {
      addr: this.addr,
      weight: this.weight,
      backup: this.backup,
      max_connections: this.maxConnections,
      state: this.state,
      healthy: this.healthy,
      removing: this.removing,
      active_connections: this.active,
      total_connections: this.total,
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
      connect_errors: this.connectErrors,
      retries: this.retries,
      health_check_failures: this.checkFailures,
      connect_latency_ms: this.latencyEwma === undefined
        ? null
        : Math.round(this.latencyEwma * 1000) / 1000,
      last_check: this.lastCheck ?? null,
    };
  }
}

/** What {@linkcode BackendPool.candidates} returns. */
export interface Candidates {
  /** Backends that may take this connection now. */
  candidates: Backend[];
  /** The tier they come from (primaries or backups), all of it: the consistent-hash ring. */
  group: Backend[];
}

/** Events a pool reports. */
export interface PoolEvents {
  /** A backend joined. */
  added?: (backend: Backend) => void;
  /** A backend left (after draining). */
  removed?: (backend: Backend) => void;
}

/**
 * The backends in configuration order.
 *
 * @example
 * ```ts
 * const pool = new BackendPool();
 * pool.add({ addr: "127.0.0.1:8081", weight: 1, backup: false, max_connections: 0 });
 * pool.candidates(new Set()).candidates.length; // 1
 * ```
 */
export class BackendPool {
  #list: Backend[] = [];
  #byAddr = new Map<string, Backend>();
  #events: PoolEvents;

  /** @param events Called when backends join or leave. @default {} */
  constructor(events: PoolEvents = {}) {
    this.#events = events;
  }

  /** @returns Every backend, in order (removing ones included until they leave). */
  list(): readonly Backend[] {
    return this.#list;
  }

  /**
   * @param addr A normalised `host:port`.
   * @returns The backend, if present.
   */
  get(addr: string): Backend | undefined {
    return this.#byAddr.get(addr);
  }

  /**
   * Add a backend.
   *
   * @param config Its settings; `addr` must be normalised.
   * @returns The new backend.
   * @throws {Error} When the address is already in the pool.
   */
  add(config: BackendConfig & { addr: string }): Backend {
    if (this.#byAddr.has(config.addr)) throw new Error(`backend ${config.addr} already exists`);
    const backend = new Backend(config, (b) => this.#drop(b));
    this.#list.push(backend);
    this.#byAddr.set(backend.addr, backend);
    this.#events.added?.(backend);
    return backend;
  }

  /**
   * Drain a backend and remove it once its last connection ends (at once when idle).
   *
   * @param addr A normalised `host:port`.
   * @returns The backend, or undefined when unknown.
   */
  remove(addr: string): Backend | undefined {
    const backend = this.#byAddr.get(addr);
    if (backend === undefined) return undefined;
    backend.draining = true;
    backend.removing = true;
    if (backend.active === 0) this.#drop(backend);
    return backend;
  }

  #drop(backend: Backend): void {
    if (this.#byAddr.get(backend.addr) !== backend) return;
    this.#byAddr.delete(backend.addr);
    this.#list = this.#list.filter((b) => b !== backend);
    this.#events.removed?.(backend);
  }

  /**
   * Backends that may take a new connection: primaries that are up, not draining, not full
   * and not in `tried`; when no primary is up (or all were tried), the backups likewise.
   *
   * @param tried Backends this client already failed to connect to.
   * @returns The candidates and the tier they come from.
   */
  candidates(tried: ReadonlySet<Backend>): Candidates {
    const pick = (backup: boolean): Candidates | undefined => {
      const group: Backend[] = [];
      const candidates: Backend[] = [];
      let up = false;
      for (const b of this.#list) {
        if (b.backup !== backup || b.removing) continue;
        group.push(b);
        if (!b.inService || tried.has(b)) continue;
        up = true;
        if (!b.full) candidates.push(b);
      }
      return up ? { candidates, group } : undefined;
    };
    return pick(false) ?? pick(true) ?? { candidates: [], group: [] };
  }
}
