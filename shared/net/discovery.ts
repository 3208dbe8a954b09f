/**
 * Backends from DNS: `dns+srv://_echo._tcp.service.consul` (SRV records: port, weight and
 * priority per target) or `dns://echo.service.consul:8081` (A and AAAA records, one port).
 * {@linkcode resolveTargets} turns one lookup into backend targets with the smallest TTL seen;
 * {@linkcode DiscoveryLoop} repeats it on the TTL (bounded) and applies the failure policy.
 *
 * SRV mapping: the lowest priority present is primary, every higher one is a backup; the SRV
 * weight (0-65535) becomes the backend weight, scaled down proportionally when the largest is
 * over `maxWeight`, and at least 1 (a weight-0 record still gets a little traffic, as RFC 2782
 * says). Targets of `.` (service explicitly unavailable) are skipped.
 *
 * @module
 */

import { formatAddress, type HostPort, isIPv4, isIPv6, parseAddress } from "./address.ts";
import { type DnsClient, DnsError } from "./dns.ts";
import { DNS_TYPE, type DnsRecord, type SrvData } from "./dns_wire.ts";

/** A parsed `discovery` value. */
export type DiscoverySpec =
  | { kind: "srv"; name: string; text: string }
  | { kind: "a"; name: string; port: number; text: string };

/** One backend found in DNS. */
export interface DiscoveredTarget {
  /** Normalised `host:port`. */
  addr: string;
  /** Backend weight (1..maxWeight). */
  weight: number;
  /** Not of the lowest SRV priority. */
  backup: boolean;
}

/** What one lookup found. */
export interface Resolution {
  /** The targets, in answer order, without duplicates. */
  targets: DiscoveredTarget[];
  /** The smallest TTL of the records used, in seconds (undefined when none). */
  ttlSecs: number | undefined;
}

/** The default cap on a backend weight, as the load balancer has it. */
export const DEFAULT_MAX_WEIGHT = 1000;

/**
 * Parse a `discovery` value.
 *
 * @param text `dns+srv://NAME` or `dns://NAME:PORT`.
 * @returns The spec.
 * @throws {Error} On another scheme, a missing port for `dns://`, or a bad name.
 * @example
 * ```ts
 * parseDiscovery("dns://echo.service.consul:8081"); // { kind: "a", name: "echo.service.consul", port: 8081, ... }
 * ```
 */
export function parseDiscovery(text: string): DiscoverySpec {
  const srv = /^dns\+srv:\/\/([^/:\s]+?)\.?$/.exec(text);
  if (srv) return { kind: "srv", name: checkName(srv[1]!, text), text };
  const a = /^dns:\/\/([^/\s]+)$/.exec(text);
  if (a) {
    let hp: HostPort;
    try {
      hp = parseAddress(a[1]!);
    } catch {
      throw new Error(`expected dns://NAME:PORT (a port is required), got '${text}'`);
    }
    if (hp.port === 0) throw new Error(`expected a port 1-65535 in dns://NAME:PORT, got '${text}'`);
    const name = isIPv4(hp.hostname) || isIPv6(hp.hostname)
      ? hp.hostname
      : checkName(hp.hostname.replace(/\.$/, ""), text);
    return { kind: "a", name, port: hp.port, text };
  }
  throw new Error(
    `expected dns+srv://_service._tcp.domain or dns://name:port, got '${text}'`,
  );
}

function checkName(name: string, text: string): string {
  const ok = name.length <= 253 &&
    name.split(".").every((l) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
  if (!ok) throw new Error(`expected a domain name, got '${text}'`);
  return name.toLowerCase();
}

/** Options for {@linkcode resolveTargets}. */
export interface ResolveOptions {
  /** Largest backend weight. @default 1000 */
  maxWeight?: number;
  /** Aborts the lookup. */
  signal?: AbortSignal;
}

/**
 * Look the spec up once.
 *
 * @param spec What to look up.
 * @param client The DNS client.
 * @param options Weight cap and abort signal.
 * @returns The targets and the smallest TTL.
 * @throws {DnsError} When the lookup fails (timeout, NXDOMAIN, ...). An empty answer is not an
 * error here: the caller decides what it means.
 * @example
 * ```ts
 * const { targets, ttlSecs } = await resolveTargets(parseDiscovery("dns+srv://_echo._tcp.consul"), client);
 * ```
 */
export async function resolveTargets(
  spec: DiscoverySpec,
  client: DnsClient,
  options: ResolveOptions = {},
): Promise<Resolution> {
  const ttl = new MinTtl();
  if (spec.kind === "a") {
    const addrs = await addresses(spec.name, client, ttl, [], options.signal, true);
    const targets = addrs.map((hostname) => ({
      addr: formatAddress({ hostname, port: spec.port }),
      weight: 1,
      backup: false,
    }));
    return { targets: dedupe(targets), ttlSecs: ttl.value };
  }
  const reply = await client.query(spec.name, DNS_TYPE.SRV, options.signal);
  const srvs = reply.answers.filter((r) => r.type === DNS_TYPE.SRV && r.data !== undefined);
  const records = srvs.map((r) => r.data as SrvData).filter((d) => d.target !== "");
  for (const r of srvs) ttl.add(r.ttl);
  if (records.length === 0) return { targets: [], ttlSecs: ttl.value };
  const primary = Math.min(...records.map((r) => r.priority));
  const maxSrvWeight = Math.max(...records.map((r) => r.weight));
  const cap = options.maxWeight ?? DEFAULT_MAX_WEIGHT;
  const scale = maxSrvWeight > cap ? cap / maxSrvWeight : 1;
  const perTarget = await Promise.all(
    records.map((r) => addresses(r.target, client, ttl, reply.additionals, options.signal, false)),
  );
  const targets: DiscoveredTarget[] = [];
  records.forEach((r, i) => {
    for (const hostname of perTarget[i]!) {
      targets.push({
        addr: formatAddress({ hostname, port: r.port }),
        weight: Math.max(1, Math.round(r.weight * scale)),
        backup: r.priority !== primary,
      });
    }
  });
  return { targets: dedupe(targets), ttlSecs: ttl.value };
}

/** The smallest TTL seen. */
class MinTtl {
  value: number | undefined;
  add(ttl: number): void {
    this.value = this.value === undefined ? ttl : Math.min(this.value, ttl);
  }
}

/**
 * A and AAAA addresses of `name`: from the additional section when it has them, else asked
 * for. With `strict`, a name with neither (both NXDOMAIN) throws; otherwise an SRV target that
 * does not resolve is skipped (its siblings still count).
 */
async function addresses(
  name: string,
  client: DnsClient,
  ttl: MinTtl,
  additionals: readonly DnsRecord[],
  signal: AbortSignal | undefined,
  strict: boolean,
): Promise<string[]> {
  if (isIPv4(name) || isIPv6(name)) return [name];
  const known = additionals.filter((r) =>
    r.name === name && (r.type === DNS_TYPE.A || r.type === DNS_TYPE.AAAA)
  );
  let records = known;
  if (known.length === 0) {
    const replies = await Promise.allSettled([
      client.query(name, DNS_TYPE.A, signal),
      client.query(name, DNS_TYPE.AAAA, signal),
    ]);
    const ok = replies.filter((r) => r.status === "fulfilled");
    if (ok.length === 0) {
      if (!strict) return [];
      throw (replies[0] as PromiseRejectedResult).reason;
    }
    records = ok.flatMap((r) => r.value.answers);
  }
  const out: string[] = [];
  for (const r of records) {
    if (r.type !== DNS_TYPE.A && r.type !== DNS_TYPE.AAAA) continue;
    ttl.add(r.ttl);
    out.push(r.data as string);
  }
  return out;
}

function dedupe(targets: DiscoveredTarget[]): DiscoveredTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => !seen.has(t.addr) && seen.add(t.addr));
}

/** Options for {@linkcode DiscoveryLoop}. */
export interface DiscoveryLoopOptions {
  /** Seconds between lookups when the records carry no TTL (and after a failure). */
  refreshSecs: number;
  /** Lower bound on the TTL-driven interval, in seconds. */
  minRefreshSecs: number;
  /** Upper bound on the TTL-driven interval, in seconds. */
  maxRefreshSecs: number;
  /** On a failure (error, timeout, NXDOMAIN, empty answer): keep the last set, or clear it. */
  onFailure: "keep" | "clear";
  /** Applies a new set of targets. */
  apply: (targets: DiscoveredTarget[]) => void;
  /** Reports a failure (once per change of reason) and a recovery. */
  report?: (event: { kind: "failure" | "recovered"; message: string }) => void;
}

/**
 * Looks a name up again and again: after each success when the smallest TTL says (bounded by
 * `minRefreshSecs` and `maxRefreshSecs`, `refreshSecs` when there is no TTL), after a failure
 * in `minRefreshSecs` doubling up to `refreshSecs`.
 *
 * @example
 * ```ts
 * const loop = new DiscoveryLoop((signal) => resolveTargets(spec, client, { signal }), {
 *   refreshSecs: 30, minRefreshSecs: 1, maxRefreshSecs: 300, onFailure: "keep",
 *   apply: (targets) => console.log(targets),
 * });
 * loop.start();
 * await loop.stop();
 * ```
 */
export class DiscoveryLoop {
  #resolve: (signal: AbortSignal) => Promise<Resolution>;
  #options: DiscoveryLoopOptions;
  #controller = new AbortController();
  #running: Promise<void> | undefined;
  #failures = 0;
  #lookups = 0;
  #lastFailure: string | undefined;
  #nextDelayMs = 0;
  #wake: (() => void) | undefined;

  /**
   * Create a loop; {@linkcode DiscoveryLoop.start} runs it.
   *
   * @param resolve One lookup.
   * @param options Intervals, failure policy, apply and report callbacks.
   */
  constructor(
    resolve: (signal: AbortSignal) => Promise<Resolution>,
    options: DiscoveryLoopOptions,
  ) {
    this.#resolve = resolve;
    this.#options = options;
  }

  /** Failed lookups (errors, timeouts, NXDOMAIN, empty answers) since start. */
  get failures(): number {
    return this.#failures;
  }

  /** Lookups done (successful or not). */
  get lookups(): number {
    return this.#lookups;
  }

  /** The reason of the current failure streak, or undefined when the last lookup worked. */
  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  /** Milliseconds until the next lookup, as last planned. */
  get nextDelayMs(): number {
    return this.#nextDelayMs;
  }

  /**
   * Do one lookup now and apply it; the loop goes on from there.
   *
   * @returns Resolves after the lookup.
   */
  async refresh(): Promise<void> {
    await this.#once(this.#options.refreshSecs * 1000);
  }

  /** Start looking up (the first lookup at once). Idempotent. */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Ask for a lookup now instead of at the planned time (e.g. on reload). */
  poke(): void {
    this.#wake?.();
  }

  /**
   * Stop; an ongoing lookup is aborted and nothing more is applied.
   *
   * @returns Resolves when the loop has ended.
   */
  async stop(): Promise<void> {
    this.#controller.abort();
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const signal = this.#controller.signal;
    let backoffMs = this.#options.minRefreshSecs * 1000;
    while (!signal.aborted) {
      const ok = await this.#once(backoffMs);
      if (signal.aborted) return;
      backoffMs = ok ? this.#options.minRefreshSecs * 1000 : Math.min(
        backoffMs * 2,
        Math.max(this.#options.refreshSecs, this.#options.minRefreshSecs) * 1000,
      );
      const wait = Promise.withResolvers<void>();
      this.#wake = wait.resolve;
      const timer = setTimeout(wait.resolve, this.#nextDelayMs);
      await wait.promise;
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** One lookup; plans the next delay. Returns whether it succeeded. */
  async #once(failureDelayMs: number): Promise<boolean> {
    const signal = this.#controller.signal;
    const { minRefreshSecs, maxRefreshSecs, refreshSecs } = this.#options;
    this.#lookups++;
    let failure: string | undefined;
    let resolution: Resolution | undefined;
    try {
      resolution = await this.#resolve(signal);
      if (resolution.targets.length === 0) failure = "empty answer (no usable records)";
    } catch (error) {
      if (signal.aborted) return false;
      // Anything a hostile or odd answer makes fail is a failed lookup, never a crash.
      failure = error instanceof DnsError
        ? error.message
        : `lookup failed: ${(error as Error)?.message ?? error}`;
    }
    if (signal.aborted) return false;
    if (failure !== undefined) {
      this.#failures++;
      if (failure !== this.#lastFailure) {
        const policy = this.#options.onFailure === "keep"
          ? "keeping the last known backends"
          : "clearing the discovered backends";
        this.#options.report?.({ kind: "failure", message: `${failure}; ${policy}` });
      }
      this.#lastFailure = failure;
      if (this.#options.onFailure === "clear") this.#options.apply([]);
      this.#nextDelayMs = failureDelayMs;
      return false;
    }
    if (this.#lastFailure !== undefined) {
      this.#options.report?.({
        kind: "recovered",
        message: `lookups work again (${resolution!.targets.length} backends)`,
      });
    }
    this.#lastFailure = undefined;
    this.#options.apply(resolution!.targets);
    const ttl = resolution!.ttlSecs;
    const secs = ttl === undefined
      ? refreshSecs
      : Math.min(maxRefreshSecs, Math.max(minRefreshSecs, ttl));
    this.#nextDelayMs = secs * 1000;
    return true;
  }
}
