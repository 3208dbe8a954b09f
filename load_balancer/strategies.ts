/**
 * Balancing strategies: given the backends that may take a connection, pick one.
 *
 * - `round_robin`: each in turn, weights ignored.
 * - `weighted_round_robin`: nginx's smooth weighted round robin (`5,1,1` gives `a a b a c a a`).
 * - `least_connections`: fewest active connections per unit of weight; ties in turn.
 * - `random_two_choices`: two at random, the one with fewer active connections per weight.
 * - `consistent_hash`: client IP on a ring of virtual nodes; losing one of N backends moves
 *   only the clients it had (about 1/N).
 * - `least_latency`: two at random, the one with the lower latency x load: the decayed
 *   average of connect + first-byte time times (active connections + 1), per unit of weight
 *   (nginx Plus `least_time first_byte`). Unmeasured backends count as fastest (to be measured);
 *   the estimate of a backend that is no longer picked decays, so it gets tried again.
 *
 * @module
 */

import type { StrategyName } from "./config.ts";

/** What a strategy needs to know of a backend. */
export interface Pickable {
  /** `host:port`. */
  readonly addr: string;
  /** Relative share, 1 or more. */
  readonly weight: number;
  /** Connections open now. */
  readonly active: number;
  /**
   * Decayed average of connect + first-byte time in ms, now; undefined before the first
   * sample (`least_latency` ranks by it).
   */
  readonly latencyScore: number | undefined;
}

/** Per-pick information besides the candidates. */
export interface PickContext {
  /** The client's IP address (consistent hashing keys on it). */
  clientIp: string;
  /** The whole tier the candidates come from, up or not (the consistent-hash ring). */
  group: readonly Pickable[];
}

/** A balancing strategy. */
export interface Strategy {
  /** Its configuration name. */
  readonly name: StrategyName;
  /**
   * Choose a backend.
   *
   * @param candidates Backends that may take the connection, in pool order.
   * @param context Client IP and the tier.
   * @returns One of `candidates`, or undefined when it is empty.
   */
  pick<B extends Pickable>(candidates: readonly B[], context: PickContext): B | undefined;
}

/** Options for {@linkcode createStrategy}. */
export interface StrategyOptions {
  /** Random numbers in [0, 1) (tests pass a seeded one). @default Math.random */
  random?: () => number;
  /** Ring points per unit of weight for `consistent_hash`. @default VNODES_PER_WEIGHT */
  vnodes?: number;
}

/** Ring points per unit of weight. */
export const VNODES_PER_WEIGHT = 100;
/** The ring never holds more points than this; weights are scaled down to fit. */
export const MAX_RING_POINTS = 100_000;
const COUNTER_WRAP = 0x7fffffff;

/**
 * Create a strategy by name.
 *
 * @param name One of {@linkcode STRATEGIES}.
 * @param options Random source and ring size.
 * @returns A fresh strategy (its own rotation and weight state).
 * @example
 * ```ts
 * const rr = createStrategy("round_robin");
 * rr.pick(backends, { clientIp: "127.0.0.1", group: backends });
 * ```
 */
export function createStrategy(name: StrategyName, options: StrategyOptions = {}): Strategy {
  const random = options.random ?? Math.random;
  switch (name) {
    case "round_robin":
      return new RoundRobin();
    case "weighted_round_robin":
      return new SmoothWeighted();
    case "least_connections":
      return new LeastConnections();
    case "random_two_choices":
      return new TwoChoices(name, random, lessLoaded);
    case "least_latency":
      return new TwoChoices(name, random, faster);
    case "consistent_hash":
      return new ConsistentHash(options.vnodes ?? VNODES_PER_WEIGHT);
  }
}

class RoundRobin implements Strategy {
  readonly name = "round_robin" as const;
  #next = 0;

  pick<B extends Pickable>(candidates: readonly B[]): B | undefined {
    if (candidates.length === 0) return undefined;
    const chosen = candidates[this.#next % candidates.length];
    this.#next = (this.#next + 1) % COUNTER_WRAP;
    return chosen;
  }
}

/** nginx's smooth weighted round robin: each pick adds every weight to its current value,
 * takes the largest, and subtracts the total from it. */
class SmoothWeighted implements Strategy {
  readonly name = "weighted_round_robin" as const;
  #current = new WeakMap<Pickable, number>();

  pick<B extends Pickable>(candidates: readonly B[]): B | undefined {
    let best: B | undefined;
    let bestValue = -Infinity;
    let total = 0;
    for (const c of candidates) {
      const value = (this.#current.get(c) ?? 0) + c.weight;
      this.#current.set(c, value);
      total += c.weight;
      if (value > bestValue) {
        best = c;
        bestValue = value;
      }
    }
    if (best !== undefined) this.#current.set(best, bestValue - total);
    return best;
  }
}

/** Fewest active connections per unit of weight; ties go round robin. */
class LeastConnections implements Strategy {
  readonly name = "least_connections" as const;
  #next = 0;

  pick<B extends Pickable>(candidates: readonly B[]): B | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const start = this.#next % n;
    this.#next = (this.#next + 1) % COUNTER_WRAP;
    let best = candidates[start]!;
    for (let k = 1; k < n; k++) {
      const c = candidates[(start + k) % n]!;
      if (lessLoaded(c, best) < 0) best = c;
    }
    return best;
  }
}

/** Power of two choices: two distinct random candidates, the better by `compare`. */
class TwoChoices implements Strategy {
  readonly name: StrategyName;
  #random: () => number;
  #compare: (a: Pickable, b: Pickable) => number;

  constructor(
    name: StrategyName,
    random: () => number,
    compare: (a: Pickable, b: Pickable) => number,
  ) {
    this.name = name;
    this.#random = random;
    this.#compare = compare;
  }

  pick<B extends Pickable>(candidates: readonly B[]): B | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const i = Math.floor(this.#random() * n);
    let j = Math.floor(this.#random() * (n - 1));
    if (j >= i) j++;
    const a = candidates[i]!;
    const b = candidates[j]!;
    const order = this.#compare(a, b);
    if (order !== 0) return order < 0 ? a : b;
    return this.#random() < 0.5 ? a : b;
  }
}

/** Negative when `a` has fewer active connections per unit of weight than `b`. */
function lessLoaded(a: Pickable, b: Pickable): number {
  return a.active * b.weight - b.active * a.weight;
}

/**
 * Negative when `a` is expected to answer sooner: latency times (active + 1) per unit of
 * weight, so a fast backend piling up connections shares with the others. Unmeasured backends
 * count as fastest (to get measured); equal costs fall back to fewer connections.
 */
function faster(a: Pickable, b: Pickable): number {
  const cost = (p: Pickable) => (p.latencyScore ?? 0) * (p.active + 1) / p.weight;
  const diff = cost(a) - cost(b);
  return diff !== 0 ? diff : lessLoaded(a, b);
}

/** Client IP on a ring of virtual nodes; walk clockwise past backends that cannot take it. */
class ConsistentHash implements Strategy {
  readonly name = "consistent_hash" as const;
  #vnodes: number;
  #points = new Uint32Array(0);
  #owners: Pickable[] = [];
  #builtFrom: { member: Pickable; weight: number }[] = [];

  constructor(vnodes: number) {
    this.#vnodes = vnodes;
  }

  pick<B extends Pickable>(candidates: readonly B[], context: PickContext): B | undefined {
    if (candidates.length <= 1) return candidates[0];
    this.#ensureRing(context.group);
    const allowed = new Set<Pickable>(candidates);
    const n = this.#points.length;
    if (n > 0) {
      let i = lowerBound(this.#points, hashString(context.clientIp));
      for (let step = 0; step < n; step++, i++) {
        const owner = this.#owners[i % n]!;
        if (allowed.has(owner)) return owner as B;
      }
    }
    // Candidates outside the group (should not happen): fall back to hashing over them.
    return candidates[hashString(context.clientIp) % candidates.length];
  }

  #ensureRing(group: readonly Pickable[]): void {
    const same = group.length === this.#builtFrom.length &&
      group.every((g, i) => {
        const built = this.#builtFrom[i]!;
        return built.member === g && built.weight === g.weight;
      });
    if (same) return;
    this.#builtFrom = group.map((member) => ({ member, weight: member.weight }));
    const totalWeight = group.reduce((sum, g) => sum + g.weight, 0);
    const scale = Math.min(1, MAX_RING_POINTS / Math.max(1, totalWeight * this.#vnodes));
    const entries: { point: number; owner: Pickable }[] = [];
    for (const member of group) {
      const count = Math.max(1, Math.round(member.weight * this.#vnodes * scale));
      for (let v = 0; v < count; v++) {
        entries.push({ point: hashString(`${member.addr}#${v}`), owner: member });
      }
    }
    entries.sort((a, b) => a.point - b.point || (a.owner.addr < b.owner.addr ? -1 : 1));
    this.#points = Uint32Array.from(entries, (e) => e.point);
    this.#owners = entries.map((e) => e.owner);
  }
}

/** First index whose value is >= `key` (`points.length` when none). */
function lowerBound(points: Uint32Array, key: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A 32-bit hash of a string: FNV-1a, then murmur3's finaliser for avalanche (neighbouring
 * IPs land far apart on the ring).
 *
 * @param text Any string.
 * @returns An unsigned 32-bit integer.
 * @example
 * ```ts
 * hashString("10.0.0.1") === hashString("10.0.0.1"); // true
 * ```
 */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
