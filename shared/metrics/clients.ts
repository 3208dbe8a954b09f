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

/** Clients tracked at most; beyond it the longest-idle client is forgotten. */
export const MAX_TRACKED_CLIENTS = 10_000;
/** Rows `GET /clients` returns at most. */
export const TOP_CLIENTS = 100;
/** The row that counts connections from clients over the cap while every tracked one is live. */
export const OTHER_CLIENTS = "other";

function newEntry(): Entry {
  return { total: 0, closedUp: 0, closedDown: 0, live: new Set() };
}

/**
 * Tracks connections and bytes per client IP. Hot paths touch only the connection's own
 * {@linkcode RelayStats}; rows are summed when asked for.
 *
 * Bounded: at most `max` IPs are tracked. Eviction rule: when a new IP arrives at the cap,
 * the client that has been idle (no open connection) the longest is forgotten, in O(1) (idle
 * clients are kept in the order they went idle). When every tracked client has a live
 * connection, nothing is evicted and the new connection is counted in one extra row,
 * {@linkcode OTHER_CLIENTS}, so memory never grows past `max` + 1 rows.
 *
 * @example
 * ```ts
 * const table = new ClientTable(1000);
 * const stats = { up: 0, down: 0 };
 * table.open("10.0.0.1", stats);
 * table.close("10.0.0.1", stats);
 * table.top(10);
 * ```
 */
export class ClientTable {
  #entries = new Map<string, Entry>();
  /** Tracked clients with no live connection, longest idle first. */
  #idle = new Map<string, Entry>();
  #other = newEntry();
  #max: number;

  /**
   * An empty table.
   *
   * @param max Clients tracked at most. @default MAX_TRACKED_CLIENTS
   */
  constructor(max: number = MAX_TRACKED_CLIENTS) {
    this.#max = max;
  }

  /** Number of clients tracked (the {@linkcode OTHER_CLIENTS} row not included). */
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
      if (this.#entries.size >= this.#max && !this.#evict()) {
        entry = this.#other;
      } else {
        entry = newEntry();
        this.#entries.set(ip, entry);
      }
    } else {
      this.#idle.delete(ip);
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
    let into: Entry;
    if (entry !== undefined && entry.live.delete(stats)) {
      into = entry;
      if (entry.live.size === 0) this.#idle.set(ip, entry);
    } else if (this.#other.live.delete(stats)) {
      into = this.#other;
    } else {
      return;
    }
    into.closedUp += stats.up;
    into.closedDown += stats.down;
  }

  /** Forget the longest-idle client; false when every tracked client is live. */
  #evict(): boolean {
    for (const ip of this.#idle.keys()) {
      this.#idle.delete(ip);
      this.#entries.delete(ip);
      return true;
    }
    return false;
  }

  /**
   * The busiest clients by bytes (both ways), most first.
   *
   * @param limit Rows at most. @default TOP_CLIENTS
   * @returns Rows for `GET /clients`.
   */
  top(limit: number = TOP_CLIENTS): ClientRow[] {
    const rows: ClientRow[] = [];
    const all: Iterable<[string, Entry]> = this.#other.total > 0
      ? [...this.#entries, [OTHER_CLIENTS, this.#other]]
      : this.#entries;
    for (const [ip, entry] of all) {
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
