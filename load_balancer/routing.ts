/**
 * Routes: which pool a client goes to (first matching `[[routes]]` entry, by TLS server name,
 * ALPN and client address; else `default_pool`). The named pools themselves are in
 * `named_pools.ts`.
 *
 * @module
 */

import { type Cidr, cidrContains, type Engine, parseCidr, parseIp } from "@monkey/shared";
import type { LbConfig, RouteConfig } from "./config.ts";
import type { PassiveHealth } from "./connection.ts";
import type { BackendPool } from "./pool.ts";
import type { Strategy } from "./strategies.ts";

/**
 * Whether a server name matches an `sni` matcher: equal (case-insensitive), or for
 * `*.example.com` exactly one more label in front (`a.example.com`, not `a.b.example.com`,
 * not `example.com`), as in certificates.
 *
 * @param pattern The matcher (lower case).
 * @param name The client's server name (lower case).
 * @returns Whether it matches.
 * @example
 * ```ts
 * sniMatches("*.example.com", "a.example.com"); // true
 * ```
 */
export function sniMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === name;
  const suffix = pattern.slice(1); // ".example.com"
  if (!name.endsWith(suffix)) return false;
  const head = name.slice(0, -suffix.length);
  return head.length > 0 && !head.includes(".");
}

/** Traffic counters of one pool or route. */
export class TrafficCounters {
  /** Connections sent here. */
  connections = 0;
  /** Bytes client to backend (counted when a connection ends). */
  bytesUp = 0;
  /** Bytes backend to client (counted when a connection ends). */
  bytesDown = 0;
}

/** One pool as connections use it. */
export interface RoutedPool {
  /** Its name (`default` for the top-level backends). */
  readonly name: string;
  /** The backends. */
  readonly pool: BackendPool;
  /** The strategy picking among them. */
  readonly strategy: Strategy;
  /** Passive health of its backends. */
  readonly health: PassiveHealth;
  /** Its traffic. */
  readonly traffic: TrafficCounters;
  /** Connects to its backends (its own upstream TLS); undefined: the service's engine. */
  readonly engine?: Engine;
}

/** What a client shows before it is routed. */
export interface ClientFacts {
  /** The client's IP. */
  clientIp: string;
  /** TLS server name, if any. */
  sni: string | undefined;
  /** ALPN protocols offered (or agreed, when terminating). */
  alpn: readonly string[];
}

/** One compiled route. */
export interface Route {
  /** Position in `[[routes]]`, as metrics label it: `0`, `1`, … */
  readonly name: string;
  /** As configured. */
  readonly config: RouteConfig;
  /** Its traffic. */
  readonly traffic: TrafficCounters;
  /** Whether the client matches. */
  matches(facts: ClientFacts): boolean;
}

function compileRoute(config: RouteConfig, index: number, traffic: TrafficCounters): Route {
  const block: Cidr | undefined = config.source === undefined
    ? undefined
    : parseCidr(config.source);
  return {
    name: String(index),
    config,
    traffic,
    matches({ clientIp, sni, alpn }) {
      if (config.sni !== undefined && (sni === undefined || !sniMatches(config.sni, sni))) {
        return false;
      }
      if (config.alpn !== undefined && !alpn.includes(config.alpn)) return false;
      if (block !== undefined) {
        const ip = parseIp(clientIp);
        if (ip === undefined || !cidrContains(block, ip)) return false;
      }
      return true;
    },
  };
}

/** The routing table in force: swapped whole on reload. */
export class Router {
  /** The routes, in order. */
  readonly routes: readonly Route[];
  /** Whether some route needs the ClientHello (an `sni` or `alpn` matcher) and TLS is passed through. */
  readonly inspects: boolean;
  /** `inspect_timeout_ms`. */
  readonly inspectTimeoutMs: number;
  /** `no_sni`: what a client without a server name gets. */
  readonly noSni: LbConfig["no_sni"];
  #defaultPool: string;
  #pools: (name: string) => RoutedPool | undefined;

  /**
   * Compile the routes of a configuration.
   *
   * @param config The checked configuration.
   * @param pools Looks a pool up by name.
   * @param previous The router this one replaces (route counters carry over by position).
   */
  constructor(
    config: LbConfig,
    pools: (name: string) => RoutedPool | undefined,
    previous?: Router,
  ) {
    this.routes = config.routes.map((route, i) =>
      compileRoute(route, i, previous?.routes[i]?.traffic ?? new TrafficCounters())
    );
    this.inspects = config.tls_cert === undefined &&
      config.routes.some((r) => r.sni !== undefined || r.alpn !== undefined);
    this.inspectTimeoutMs = config.inspect_timeout_ms;
    this.noSni = config.no_sni;
    this.#defaultPool = config.default_pool;
    this.#pools = pools;
  }

  /**
   * The pool a client goes to: the first matching route's, else `default_pool`.
   *
   * @param facts Client address, server name and ALPN.
   * @returns The route (undefined: none matched) and the pool.
   */
  pick(facts: ClientFacts): { route: Route | undefined; pool: RoutedPool } {
    for (const route of this.routes) {
      if (!route.matches(facts)) continue;
      const pool = this.#pools(route.config.pool!);
      if (pool !== undefined) return { route, pool };
    }
    return { route: undefined, pool: this.#pools(this.#defaultPool)! };
  }
}
