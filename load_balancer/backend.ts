/**
 * One backend: its settings, live counters, health and drain state. Settings and drain state
 * are read-only here: they change only through the {@linkcode BackendPool} that owns the
 * backend, so the rules between them (removing implies draining, ...) live in one place.
 *
 * @module
 */

import type { RelayStats } from "@monkey/shared";
import { type HealthCounters, type HealthPolicy, recordResult } from "@monkey/shared";
import { DecayingLatency } from "./latency.ts";
import { watchFirstByte } from "./first_byte.ts";

/** Where a backend came from: the config file, DNS discovery, or the admin API. */
export type BackendSource = "static" | "dns" | "admin";

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
  /** Where it came from: `static`, `dns` or `admin`. */
  source: BackendSource;
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
  /**
   * What `least_latency` ranks by: time-decayed average of connect + first-byte time in ms
   * (`null` before the first measured connection; measured only under `least_latency`).
   */
  first_byte_ms: number | null;
  /** The last active check, or `null` before the first. */
  last_check: CheckRecord | null;
}

/** A backend's settings as configured (`[[backends]]` or the admin API). */
export interface BackendSettings {
  /** Relative share of new connections (1 or more). */
  weight: number;
  /** Takes traffic only when no primary is up. */
  backup: boolean;
  /** Connection cap; 0 = unlimited. */
  max_connections: number;
}

/**
 * The part of a backend's state only its pool changes: settings and drain state. The pool
 * creates this record, hands it to the backend and keeps it; the backend only reads it.
 */
export interface BackendControls extends BackendSettings {
  /** No new connections (admin drain, removal). */
  draining: boolean;
  /** Removed from the pool once its last connection ends (implies draining). */
  removing: boolean;
  /** Where it came from. @default "static" */
  source?: BackendSource;
}

/** Weight of a new sample in the connect-time EWMA. */
export const LATENCY_EWMA_ALPHA = 0.3;

/**
 * One backend. The data path calls {@linkcode Backend.reserve}, then
 * {@linkcode Backend.attach} or {@linkcode Backend.release}, and {@linkcode Backend.finish}
 * when the relay ends; health checks call {@linkcode Backend.recordHealth} and
 * {@linkcode Backend.recordCheck}. Weight, backup, cap, drain and removal change only through
 * the pool.
 */
export class Backend {
  /** `host:port`, normalised. */
  readonly addr: string;
  #controls: Readonly<BackendControls>;
  #health: HealthCounters = { healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 0 };
  #active = 0;
  #total = 0;
  #connectErrors = 0;
  #retries = 0;
  #checkFailures = 0;
  #latencyEwma: number | undefined;
  #firstByte = new DecayingLatency();
  #lastCheck: CheckRecord | undefined;
  /** Live connections' counters, with the first-byte watch's `end()` when measured. */
  #live = new Map<RelayStats, (() => void) | undefined>();
  #closedIn = 0;
  #closedOut = 0;
  #onIdle: (backend: Backend) => void;

  /**
   * Create a backend (the pool does; it keeps `controls`).
   *
   * @param addr Normalised `host:port`.
   * @param controls Settings and drain state, owned (and changed) by the pool.
   * @param onIdle Called when a removing backend's last connection ends.
   */
  constructor(
    addr: string,
    controls: Readonly<BackendControls>,
    onIdle: (backend: Backend) => void,
  ) {
    this.addr = addr;
    this.#controls = controls;
    this.#onIdle = onIdle;
  }

  /** Relative share of new connections (1 or more). */
  get weight(): number {
    return this.#controls.weight;
  }

  /** Takes traffic only when no primary is up. */
  get backup(): boolean {
    return this.#controls.backup;
  }

  /** Connection cap; 0 = unlimited. */
  get maxConnections(): number {
    return this.#controls.max_connections;
  }

  /** No new connections (admin drain, removal). */
  get draining(): boolean {
    return this.#controls.draining;
  }

  /** Removed from the pool once its last connection ends. */
  get removing(): boolean {
    return this.#controls.removing;
  }

  /** Where it came from: `static`, `dns` or `admin`. */
  get source(): BackendSource {
    return this.#controls.source ?? "static";
  }

  /** Start out of service until `rise` health checks pass (the pool does, for discovered ones). */
  startDown(): void {
    this.#health.healthy = false;
    this.#health.consecutiveSuccesses = 0;
  }

  /** Health as the checks see it. New backends start up (unless started down). */
  get healthy(): boolean {
    return this.#health.healthy;
  }

  /** Consecutive failures (checks and connects) while up. */
  get consecutiveFailures(): number {
    return this.#health.consecutiveFailures;
  }

  /** Connections open or being connected. */
  get active(): number {
    return this.#active;
  }

  /** Connections established. */
  get total(): number {
    return this.#total;
  }

  /** Failed connects. */
  get connectErrors(): number {
    return this.#connectErrors;
  }

  /** Clients retried elsewhere after failing here. */
  get retries(): number {
    return this.#retries;
  }

  /** Failed active checks. */
  get checkFailures(): number {
    return this.#checkFailures;
  }

  /** EWMA of connect time in ms; undefined before the first sample. */
  get latencyEwma(): number | undefined {
    return this.#latencyEwma;
  }

  /**
   * Decayed average of connect + first-byte time in ms, now; undefined before the first
   * measured connection. Falls towards 0 while no connection is measured.
   */
  get latencyScore(): number | undefined {
    return this.#firstByte.value(performance.now());
  }

  /** The last active check. */
  get lastCheck(): CheckRecord | undefined {
    return this.#lastCheck;
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
    return this.maxConnections > 0 && this.#active >= this.maxConnections;
  }

  /** Bytes from clients to this backend, finished and live connections. */
  get bytesIn(): number {
    let sum = this.#closedIn;
    for (const stats of this.#live.keys()) sum += stats.up;
    return sum;
  }

  /** Bytes from this backend to clients, finished and live connections. */
  get bytesOut(): number {
    let sum = this.#closedOut;
    for (const stats of this.#live.keys()) sum += stats.down;
    return sum;
  }

  /** Count a connection being attempted (before connecting, so caps and least-conn see it). */
  reserve(): void {
    this.#active++;
  }

  /** Undo {@linkcode Backend.reserve} after a failed connect. */
  release(): void {
    this.#active--;
    this.#checkIdle();
  }

  /**
   * Count a failed connect; with `retried`, the client also moves on to another backend.
   *
   * @param retried Whether the client is retried elsewhere.
   */
  connectFailed(retried: boolean): void {
    this.#connectErrors++;
    if (retried) this.#retries++;
  }

  /**
   * A reserved connection is established.
   *
   * @param connectMs With it, the connection's first-byte time is measured (connect time
   *   plus the time to the backend's first byte) for `least_latency`.
   * @returns The counters the relay increments.
   */
  attach(connectMs?: number): RelayStats {
    this.#total++;
    if (connectMs === undefined) {
      const stats = { up: 0, down: 0 };
      this.#live.set(stats, undefined);
      return stats;
    }
    const watch = watchFirstByte(connectMs, (ms) => this.recordFirstByte(ms));
    this.#live.set(watch.stats, () => watch.end());
    return watch.stats;
  }

  /**
   * Fold one connect + first-byte sample into the `least_latency` estimate.
   *
   * @param ms The sample in ms.
   */
  recordFirstByte(ms: number): void {
    this.#firstByte.observe(ms, performance.now());
  }

  /**
   * An established connection ended.
   *
   * @param stats The counters from {@linkcode Backend.attach}.
   */
  finish(stats: RelayStats): void {
    const end = this.#live.get(stats);
    end?.();
    if (this.#live.delete(stats)) {
      this.#closedIn += stats.up;
      this.#closedOut += stats.down;
    }
    this.#active--;
    this.#checkIdle();
  }

  /**
   * Fold one connect time into the EWMA.
   *
   * @param ms Connect time in ms.
   */
  recordLatency(ms: number): void {
    this.#latencyEwma = this.#latencyEwma === undefined
      ? ms
      : this.#latencyEwma + LATENCY_EWMA_ALPHA * (ms - this.#latencyEwma);
  }

  /**
   * Record one health result (an active check or a connect on the data path).
   *
   * @param ok Whether it passed.
   * @param policy Rise and fall.
   * @returns `"up"` or `"down"` when the state changed, else undefined.
   */
  recordHealth(ok: boolean, policy: HealthPolicy): "up" | "down" | undefined {
    return recordResult(this.#health, ok, policy);
  }

  /**
   * Keep the outcome of an active check (shown by `GET /backends`).
   *
   * @param check When, result and duration.
   * @param connectMs Time to connect, when the connect succeeded.
   */
  recordCheck(check: CheckRecord, connectMs: number | undefined): void {
    this.#lastCheck = check;
    if (connectMs !== undefined) this.recordLatency(connectMs);
    if (check.result !== "ok") this.#checkFailures++;
  }

  #checkIdle(): void {
    if (this.removing && this.#active === 0) this.#onIdle(this);
  }

  /**
   * The backend as `GET /backends` shows it.
   *
   * @returns Its row.
   */
  snapshot(): BackendSnapshot {
    return {
      addr: this.addr,
      source: this.source,
      weight: this.weight,
      backup: this.backup,
      max_connections: this.maxConnections,
      state: this.state,
      healthy: this.healthy,
      removing: this.removing,
      active_connections: this.#active,
      total_connections: this.#total,
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
      connect_errors: this.#connectErrors,
      retries: this.#retries,
      health_check_failures: this.#checkFailures,
      connect_latency_ms: this.#latencyEwma === undefined
        ? null
        : Math.round(this.#latencyEwma * 1000) / 1000,
      first_byte_ms: roundMs(this.latencyScore),
      last_check: this.#lastCheck ?? null,
    };
  }
}

function roundMs(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 1000) / 1000;
}
