/**
 * The pool of backends: which backends exist, their settings and drain state, and which may
 * take the next connection (primaries first, backups when no primary is up). Every change of
 * settings or drain state goes through a pool method, so the rules live here:
 *
 * - removing implies draining; a removing backend leaves the pool when its last connection ends;
 * - `enable` and `restore` undo both a drain and a pending removal;
 * - settings are validated by the caller (config schema or admin API) and applied whole.
 *
 * @module
 */

import {
  Backend,
  type BackendControls,
  type BackendSettings,
  type BackendSnapshot,
  type BackendSource,
} from "./backend.ts";

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

/** A backend to add: its address and settings. */
export type NewBackend = BackendSettings & {
  /** Normalised `host:port`. */
  addr: string;
  /** Where it came from. @default "static" */
  source?: BackendSource;
  /** Start out of service until health checks pass. @default false */
  startDown?: boolean;
};

/** What {@linkcode BackendPool.remove} did. */
export type RemoveResult = "removed" | "draining";

/**
 * The backends in configuration order.
 *
 * @example
 * ```ts
 * const pool = new BackendPool();
 * pool.add({ addr: "127.0.0.1:8081", weight: 1, backup: false, max_connections: 0 });
 * pool.drain("127.0.0.1:8081");
 * pool.candidates(new Set()).candidates.length; // 0
 * ```
 */
export class BackendPool {
  #list: Backend[] = [];
  #byAddr = new Map<string, Backend>();
  #controls = new Map<Backend, BackendControls>();
  #events: PoolEvents;

  /**
   * Create an empty pool.
   *
   * @param events Called when backends join or leave. @default {}
   */
  constructor(events: PoolEvents = {}) {
    this.#events = events;
  }

  /**
   * Every backend, in order (removing ones included until they leave).
   *
   * @returns The live list (read-only).
   */
  list(): readonly Backend[] {
    return this.#list;
  }

  /**
   * Every backend as `GET /backends` shows it, in order.
   *
   * @returns One row per backend.
   */
  snapshot(): BackendSnapshot[] {
    return this.#list.map((b) => b.snapshot());
  }

  /**
   * Look a backend up by address.
   *
   * @param addr A normalised `host:port`.
   * @returns The backend, if present.
   */
  get(addr: string): Backend | undefined {
    return this.#byAddr.get(addr);
  }

  /**
   * Add a backend, in service at once.
   *
   * @param config Its address (normalised) and settings.
   * @returns The new backend.
   * @throws {Error} When the address is already in the pool.
   */
  add(config: NewBackend): Backend {
    if (this.#byAddr.has(config.addr)) {
      throw new Error(`Cannot add backend ${config.addr}: it is already in the pool`);
    }
    const controls: BackendControls = {
      weight: config.weight,
      backup: config.backup,
      max_connections: config.max_connections,
      draining: false,
      removing: false,
      source: config.source ?? "static",
    };
    const backend = new Backend(config.addr, controls, (b) => this.#drop(b));
    if (config.startDown) backend.startDown();
    this.#controls.set(backend, controls);
    this.#list.push(backend);
    this.#byAddr.set(backend.addr, backend);
    this.#events.added?.(backend);
    return backend;
  }

  /**
   * Change a backend's settings (weight, backup, cap); keys left out stay.
   *
   * @param addr A normalised `host:port`.
   * @param settings The settings to change.
   * @returns The backend, or undefined when unknown.
   */
  update(addr: string, settings: Partial<BackendSettings>): Backend | undefined {
    const found = this.#find(addr);
    if (found === undefined) return undefined;
    const [backend, controls] = found;
    if (settings.weight !== undefined) controls.weight = settings.weight;
    if (settings.backup !== undefined) controls.backup = settings.backup;
    if (settings.max_connections !== undefined) {
      controls.max_connections = settings.max_connections;
    }
    return backend;
  }

  /**
   * Stop sending new connections to a backend; live ones finish.
   *
   * @param addr A normalised `host:port`.
   * @returns The backend, or undefined when unknown.
   */
  drain(addr: string): Backend | undefined {
    const found = this.#find(addr);
    if (found === undefined) return undefined;
    found[1].draining = true;
    return found[0];
  }

  /**
   * Put a backend back in service: undoes a drain and a pending removal.
   *
   * @param addr A normalised `host:port`.
   * @returns The backend, or undefined when unknown.
   */
  enable(addr: string): Backend | undefined {
    const found = this.#find(addr);
    if (found === undefined) return undefined;
    found[1].draining = false;
    found[1].removing = false;
    return found[0];
  }

  /**
   * Keep a backend that is being removed (re-added by the admin API or a reload), with new
   * settings: like {@linkcode BackendPool.enable} plus {@linkcode BackendPool.update}.
   *
   * @param addr A normalised `host:port`.
   * @param settings Its settings from now on.
   * @returns The backend, or undefined when unknown.
   */
  restore(addr: string, settings: BackendSettings): Backend | undefined {
    this.enable(addr);
    return this.update(addr, settings);
  }

  /**
   * Drain a backend and remove it once its last connection ends (at once when idle).
   *
   * @param addr A normalised `host:port`.
   * @returns `removed` (gone now) or `draining` (leaves when idle); undefined when unknown.
   */
  remove(addr: string): RemoveResult | undefined {
    const found = this.#find(addr);
    if (found === undefined) return undefined;
    const [backend, controls] = found;
    controls.draining = true;
    controls.removing = true;
    if (backend.active === 0) this.#drop(backend);
    return this.#byAddr.get(addr) === backend ? "draining" : "removed";
  }

  #find(addr: string): [Backend, BackendControls] | undefined {
    const backend = this.#byAddr.get(addr);
    if (backend === undefined) return undefined;
    return [backend, this.#controls.get(backend)!];
  }

  #drop(backend: Backend): void {
    if (this.#byAddr.get(backend.addr) !== backend) return;
    this.#byAddr.delete(backend.addr);
    this.#controls.delete(backend);
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
