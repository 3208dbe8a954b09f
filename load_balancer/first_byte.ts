/**
 * Time to a backend's first byte, measured without touching the relay's per-chunk path and
 * the same way on every I/O engine: the relay's {@linkcode RelayStats} counters start as
 * accessors on a prototype; the first write of each counter (the relay's first chunk that
 * way) notes the time and turns it into a plain own property, so every later chunk is a plain
 * property write. One check per direction per connection.
 *
 * @module
 */

import type { RelayStats } from "@monkey/shared";

/** The counters a relay increments, and the end of the measurement. */
export interface FirstByteWatch {
  /** Hand these to the relay. */
  readonly stats: RelayStats;
  /** The relay ended: report a sample if the backend never answered. */
  end(): void;
}

/** What the watch reports to. */
export type LatencySample = (ms: number) => void;

interface Watched {
  connectMs: number;
  attachedAt: number;
  upAt: number | undefined;
  done: boolean;
  report: LatencySample;
}

const STATE = Symbol("firstByte");

type WatchedStats = RelayStats & { [STATE]: Watched };

function settle(target: WatchedStats, key: "up" | "down", value: number): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** Accessors each counter starts with; replaced by an own data property at its first write. */
const PROTO = {
  get up(): number {
    return 0;
  },
  set up(value: number) {
    const self = this as unknown as WatchedStats;
    const state = self[STATE];
    state.upAt ??= performance.now();
    settle(self, "up", value);
  },
  get down(): number {
    return 0;
  },
  set down(value: number) {
    const self = this as unknown as WatchedStats;
    const state = self[STATE];
    settle(self, "down", value);
    if (state.done) return;
    state.done = true;
    // The client spoke first: from its first bytes going up; else (the backend greets) from
    // the connect.
    const now = performance.now();
    state.report(state.connectMs + now - (state.upAt ?? state.attachedAt));
  },
};

/**
 * Counters for one relay that report connect time + time to the backend's first byte after
 * the client's first bytes (or after the connect, when the backend speaks first).
 *
 * @param connectMs How long the connect took.
 * @param report Called once with the sample in ms.
 * @returns The counters and `end()`, which reports a lower bound (connect + time since the
 *   client's first bytes) when the backend never answered.
 * @example
 * ```ts
 * const watch = watchFirstByte(0.3, (ms) => backend.recordLatencySample(ms));
 * await engine.relay(client, upstream, { stats: watch.stats });
 * watch.end();
 * ```
 */
export function watchFirstByte(connectMs: number, report: LatencySample): FirstByteWatch {
  const state: Watched = {
    connectMs,
    attachedAt: performance.now(),
    upAt: undefined,
    done: false,
    report,
  };
  const stats = Object.create(PROTO) as WatchedStats;
  Object.defineProperty(stats, STATE, { value: state });
  return {
    stats,
    end() {
      if (state.done) return;
      state.done = true;
      const since = state.upAt ?? performance.now();
      state.report(state.connectMs + performance.now() - since);
    },
  };
}
