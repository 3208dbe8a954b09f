/**
 * Per-client-IP statistics (the seed's "per-client stats"), bounded in memory.
 *
 * @module
 */

import type { RelayStats } from "../net/copy.ts";

/** One client's row in `GET /clients`. */
export interface ClientRow {
  /** Client IP address. */
  ip: string;
  /** Connections open now. */
  active_connections: number;
  /** Connections since start. */
  total_connections: number;
  /** Bytes from this client to the upstream. */
  bytes_upstream: number;
  /** Bytes from the upstream to this client. */
  bytes_downstream: number;
}

interface Entry {
  total: number;
  closedUp: number;
  closedDown: number;
  live: Set<RelayStats>;
}

/** Clients tracked at most; beyond it the quietest idle client is forgotten. */
export const MAX_TRACKED_CLIENTS = 10_000;
/** Rows `GET /clients` returns at most. */
export const TOP_CLIENTS = 100;

/**
 * Tracks connections and bytes per client IP. Hot paths touch only the connection's own
 * {@linkcode RelayStats}; rows are summed when asked for.
 */
export class ClientTable {
  #entries = new Map<string, Entry>();
  #max: number;

  /** @param max Clients tracked at most. @default MAX_TRACKED_CLIENTS */
  constructor(max: number = MAX_TRACKED_CLIENTS) {
    this.#max = max;
  }

  /** Number of clients tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Count a new connection from `ip` whose bytes land in `stats`.
   *
   * @param ip Client IP.
   * @param stats The connection's counters.
   */
  open(ip: string, stats: RelayStats): void {
    let entry = this.#entries.get(ip);
    if (entry === undefined) {
      if (this.#entries.size >= this.#max) this.#evict();
      entry = { total: 0, closedUp: 0, closedDown: 0, live: new Set() };
      this.#entries.set(ip, entry);
    }
    entry.total++;
    entry.live.add(stats);
  }

  /**
   * Fold a finished connection into its client's totals.
   *
   * @param ip Client IP.
   * @param stats The connection's counters.
   */
  close(ip: string, stats: RelayStats): void {
    const entry = this.#entries.get(ip);
    if (entry === undefined || !entry.live.delete(stats)) return;
    entry.closedUp += stats.up;
    entry.closedDown += stats.down;
  }

  #evict(): void {
    let victim: string | undefined;
    let least = Infinity;
    for (const [ip, entry] of this.#entries) {
      if (entry.live.size > 0) continue;
      const bytes = entry.closedUp + entry.closedDown;
      if (bytes < least) {
        least = bytes;
        victim = ip;
      }
    }
    if (victim !== undefined) this.#entries.delete(victim);
  }

  /**
   * The busiest clients by bytes (both ways), most first.
   *
   * @param limit Rows at most. @default TOP_CLIENTS
   * @returns Rows for `GET /clients`.
   */
  top(limit: number = TOP_CLIENTS): ClientRow[] {
    const rows: ClientRow[] = [];
    for (const [ip, entry] of this.#entries) {
      let up = entry.closedUp;
      let down = entry.closedDown;
      for (const stats of entry.live) {
        up += stats.up;
        down += stats.down;
      }
      rows.push({
        ip,
        active_connections: entry.live.size,
        total_connections: entry.total,
        bytes_upstream: up,
        bytes_downstream: down,
      });
    }
    rows.sort((a, b) =>
      (b.bytes_upstream + b.bytes_downstream) - (a.bytes_upstream + a.bytes_downstream)
    );
    return rows.slice(0, limit);
  }
}
