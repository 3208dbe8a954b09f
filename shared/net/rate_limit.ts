/**
 * Per-client connection limits: at most N live connections per client, and at most R new
 * connections per second with a burst of B (a token bucket per client). Clients in the exempt
 * CIDR blocks are never limited.
 *
 * Memory is bounded whatever the number of client addresses: one entry per client in a
 * two-generation LRU of at most `capacity` entries (default 65 536, about 100 bytes each, so
 * ~6.5 MiB at most). New and recently seen clients live in the current generation; when it
 * holds half the capacity it becomes the previous one and the old previous generation is
 * dropped whole (a client seen again is moved back to the current one). So a client is
 * forgotten only after `capacity / 2` other clients were seen since it last connected: its
 * bucket starts full again and its live connections stop counting against it. Every
 * operation is O(1) (a Map-based exact LRU is not: deleting its oldest key over and over
 * makes V8 skip ever more holes). An attacker with more
 * addresses than the table holds can therefore get more than the limit for some of them, but
 * never makes the table grow, and a well-behaved client is never refused wrongly. IPv6
 * clients are keyed by their /64 (a host usually owns a whole /64); IPv4-mapped IPv6 addresses
 * count as the IPv4 address.
 *
 * @module
 */

import { isIPv4, parseIPv6 } from "./address.ts";
import { type Cidr, cidrContains, parseCidr, parseIp } from "./cidr.ts";

/** Why a connection was refused. */
export type LimitReason = "rate" | "connections";

/** A client connection counted by a {@linkcode ClientLimiter}; release it when it ends. */
export interface ClientSlot {
  /** The connection ended: it no longer counts against the client. Idempotent. */
  release(): void;
}

/** Options for {@linkcode ClientLimiter}. */
export interface ClientLimiterOptions {
  /** Live connections per client; 0 = no limit. @default 0 */
  maxConnectionsPerClient?: number;
  /** New connections per second per client; 0 = no limit. @default 0 */
  ratePerSec?: number;
  /** Connections a client may open at once above the rate (bucket size); 0 = the rate. @default 0 */
  burst?: number;
  /** CIDR blocks never limited. @default [] */
  exempt?: readonly string[];
  /** Most clients remembered (LRU). @default 65536 */
  capacity?: number;
  /** Clock in ms (tests). @default performance.now */
  now?: () => number;
}

/** Default LRU size of {@linkcode ClientLimiter}. */
export const DEFAULT_LIMITER_CAPACITY = 65_536;

const MS_PER_SEC = 1000;
const V6_PREFIX_GROUPS = 4;

/** One client's bucket and live count. */
class Entry implements ClientSlot {
  tokens: number;
  last: number;
  active = 0;
  /** In `rate_limit_exempt` (decided once, when the client is first seen). */
  readonly exempt: boolean;
  constructor(tokens: number, now: number, exempt: boolean) {
    this.tokens = tokens;
    this.last = now;
    this.exempt = exempt;
  }
  release(): void {
    if (this.active > 0) this.active--;
  }
}

/** A slot that counts nothing (limits off, or an exempt client). */
const FREE_SLOT: ClientSlot = { release() {} };

/** A slot that releases its entry once. */
class Slot implements ClientSlot {
  #entry: Entry | undefined;
  constructor(entry: Entry) {
    this.#entry = entry;
  }
  release(): void {
    this.#entry?.release();
    this.#entry = undefined;
  }
}

/**
 * Decides, per new connection, whether its client is within its limits.
 *
 * @example
 * ```ts
 * const limiter = new ClientLimiter({ ratePerSec: 50, burst: 10, maxConnectionsPerClient: 20 });
 * const slot = limiter.admit("192.0.2.1");
 * if (typeof slot === "string") console.log(`refused: ${slot}`);
 * else slot.release(); // when the connection ends
 * ```
 */
export class ClientLimiter {
  #max: number;
  #rate: number;
  #burst: number;
  #exempt: Cidr[];
  #capacity: number;
  #now: () => number;
  #half: number;
  #current = new Map<string, Entry>();
  #previous = new Map<string, Entry>();

  /**
   * Create a limiter.
   *
   * @param options Limits, exempt blocks, table size.
   * @throws {CidrError} When an exempt block does not parse.
   * @throws {RangeError} When the capacity is below 1.
   */
  constructor(options: ClientLimiterOptions = {}) {
    this.#max = options.maxConnectionsPerClient ?? 0;
    this.#rate = options.ratePerSec ?? 0;
    this.#burst = options.burst || this.#rate;
    this.#exempt = (options.exempt ?? []).map((text) => parseCidr(text));
    this.#capacity = options.capacity ?? DEFAULT_LIMITER_CAPACITY;
    if (!(this.#capacity >= 1)) {
      throw new RangeError(`ClientLimiter capacity must be at least 1, got ${this.#capacity}`);
    }
    this.#half = Math.max(1, Math.floor(this.#capacity / 2));
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether any limit is set (callers may skip the limiter otherwise). */
  get enabled(): boolean {
    return this.#max > 0 || this.#rate > 0;
  }

  /** Clients remembered now (at most the capacity). */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /**
   * Count a new connection from `ip`.
   *
   * @param ip The client's address (no brackets, no port).
   * @returns A slot to release when the connection ends, or why it is refused.
   */
  admit(ip: string): ClientSlot | LimitReason {
    if (!this.enabled) return FREE_SLOT;
    const key = clientKey(ip);
    const entry = this.#entry(key, ip);
    if (entry.exempt) return FREE_SLOT;
    if (this.#max > 0 && entry.active >= this.#max) return "connections";
    if (this.#rate > 0) {
      const now = this.#now();
      entry.tokens = Math.min(
        this.#burst,
        entry.tokens + (now - entry.last) * this.#rate / MS_PER_SEC,
      );
      entry.last = now;
      if (entry.tokens < 1) return "rate";
      entry.tokens -= 1;
    }
    entry.active++;
    return new Slot(entry);
  }

  /** The client's entry: current generation, else moved up from the previous, else new. */
  #entry(key: string, ip: string): Entry {
    let entry = this.#current.get(key);
    if (entry !== undefined) return entry;
    entry = this.#previous.get(key);
    if (entry !== undefined) this.#previous.delete(key);
    else entry = new Entry(this.#burst, this.#now(), this.#isExempt(ip));
    this.#current.set(key, entry);
    if (this.#current.size >= this.#half) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    return entry;
  }

  #isExempt(ip: string): boolean {
    if (this.#exempt.length === 0) return false;
    const bytes = parseIp(ip);
    return bytes !== undefined && this.#exempt.some((block) => cidrContains(block, bytes));
  }
}

/**
 * The table key of a client: the IPv4 address (mapped ones unmapped), or an IPv6 /64.
 *
 * @param ip A client address.
 * @returns The key.
 */
function clientKey(ip: string): string {
  // Socket and PROXY header addresses are IP literals: no colon means IPv4.
  if (!ip.includes(":")) return ip;
  const lower = ip.toLowerCase();
  if (lower.startsWith("::ffff:") && isIPv4(lower.slice(7))) return lower.slice(7);
  const groups = parseIPv6(lower);
  if (groups === undefined) return lower;
  return `${groups.slice(0, V6_PREFIX_GROUPS).map((g) => g.toString(16)).join(":")}::/64`;
}
