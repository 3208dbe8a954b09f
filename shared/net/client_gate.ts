/**
 * Who the client of a forwarding service (proxy, load balancer) is, and whether it is served:
 * the PROXY protocol header received from trusted peers (HAProxy `accept-proxy`), then the
 * allow/deny rules and the per-client limits applied to the real client's address.
 *
 * The header is read through `conn.read()` before the relay starts; bytes the client sent
 * after the header come back as `early` and must be written upstream first (after our own
 * PROXY header, see {@linkcode sendPreamble}).
 *
 * @module
 */

import type { Counter } from "../metrics/registry.ts";
import type { ThrottledLog } from "../service/logger.ts";
import { type Cidr, cidrContains, parseCidr, parseIp } from "./cidr.ts";
import type { NetConn } from "./engine.ts";
import { type ProxyProtocolMode, sendProxyHeader } from "./proxy_protocol.ts";
import { type AcceptProxyVersion, parseProxyHeader } from "./proxy_protocol_parse.ts";
import type { ClientLimiter, ClientSlot } from "./rate_limit.ts";
import type { TlsUpgrade } from "./tls_engine.ts";
import { safeClose } from "./relay.ts";

/** The `accept_proxy` values. */
export type AcceptProxyMode = "off" | AcceptProxyVersion;
/** What happens to a client that is not a trusted proxy when `accept_proxy` is on. */
export type ProxyFallback = "plain" | "reject";

/** The client as the service sees it once admitted. */
export interface AdmittedClient {
  /** The real client's IP (from the PROXY header when one was received). */
  readonly ip: string;
  /** The real client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The address the client connected to (from the header when it carries one). */
  readonly localAddr: Deno.NetAddr;
  /** Client bytes read past the header: write them upstream before relaying. */
  readonly early: Uint8Array;
  /** Whether the address came from a PROXY header. */
  readonly proxied: boolean;
  /** Call when the connection ends (frees its per-client slot). */
  release(): void;
}

/** Counters the gate bumps. */
export interface ClientGateCounters {
  /** Clients refused by allow/deny (the real address, after a header). */
  denied: Counter;
  /** Clients closed over a per-client limit. */
  rateLimited: Counter;
  /** Trusted peers that sent no valid header in time. */
  proxyErrors: Counter;
  /** Untrusted peers closed because `proxy_fallback = "reject"`. */
  proxyRejected: Counter;
}

/** Options for {@linkcode ClientGate}. */
export interface ClientGateOptions {
  /** `accept_proxy`. @default "off" */
  acceptProxy?: AcceptProxyMode;
  /** `trusted_proxies`: CIDR blocks whose connections must carry a header. @default [] */
  trustedProxies?: readonly string[];
  /** `proxy_fallback`. @default "reject" */
  proxyFallback?: ProxyFallback;
  /** `handshake_timeout_ms`: how long a trusted peer has to send its header. @default 3000 */
  handshakeTimeoutMs?: number;
  /** Allow/deny of a real client address (read per connection, so reloads apply). */
  admits: (ip: string) => boolean;
  /** Per-client limits (skipped when it has none). */
  limiter?: ClientLimiter;
  /** Counters. */
  counters: ClientGateCounters;
  /** Where refusals are reported, throttled per kind. */
  throttled: ThrottledLog;
  /**
   * Start TLS once a client is admitted (`accept_proxy` with `tls_cert`: the header comes in
   * clear, then the client's TLS); `early` bytes go into it, and the handler gets its result.
   */
  upgrade?: TlsUpgrade | undefined;
}

/** Default `handshake_timeout_ms`. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 3000;
const HEADER_BUF = 512;
const NO_BYTES = new Uint8Array(0);
const NO_SLOT: ClientSlot = { release() {} };

/**
 * Admits clients: the accept-time check ({@linkcode ClientGate.atAccept}) and the per
 * connection one ({@linkcode ClientGate.admit}) the handler awaits first.
 *
 * @example
 * ```ts
 * const gate = new ClientGate({ acceptProxy: "v2", trustedProxies: ["10.0.0.0/8"], admits: () => true, counters, throttled });
 * const handler = gate.wrap(async (conn, force, client) => {
 *   // client.ip is the real client; write client.early upstream first
 * });
 * ```
 */
export class ClientGate {
  #accept: AcceptProxyMode;
  #trusted: Cidr[];
  #fallback: ProxyFallback;
  #timeoutMs: number;
  #options: ClientGateOptions;

  /**
   * Create a gate.
   *
   * @param options Modes, trusted blocks, limits, counters.
   * @throws {CidrError} When a trusted block does not parse.
   */
  constructor(options: ClientGateOptions) {
    this.#accept = options.acceptProxy ?? "off";
    this.#trusted = (options.trustedProxies ?? []).map(parseCidr);
    this.#fallback = options.proxyFallback ?? "reject";
    this.#timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.#options = options;
  }

  /**
   * Whether a peer is a trusted proxy (its connections carry a header).
   *
   * @param ip The peer's address.
   * @returns True when `accept_proxy` is on and the address is in `trusted_proxies`.
   */
  trusts(ip: string): boolean {
    if (this.#accept === "off" || this.#trusted.length === 0) return false;
    const bytes = parseIp(ip);
    return bytes !== undefined && this.#trusted.some((block) => cidrContains(block, bytes));
  }

  /**
   * The accept-time check of the frontend: a trusted proxy passes (its client is checked after
   * the header), anyone else is checked by allow/deny now.
   *
   * @param ip The peer's address.
   * @returns Whether to keep the connection.
   */
  atAccept(ip: string): boolean {
    return this.trusts(ip) || this.#options.admits(ip);
  }

  /**
   * Read the PROXY header when the peer is trusted, then check allow/deny (for a proxied
   * client) and the per-client limits. Refused connections are closed and counted.
   *
   * @param conn The accepted connection.
   * @returns The admitted client, or undefined when the connection was closed.
   */
  async admit(conn: NetConn): Promise<AdmittedClient | undefined> {
    const peer = conn.remoteAddr as Deno.NetAddr;
    const { counters, throttled } = this.#options;
    let client: Omit<AdmittedClient, "release">;
    if (this.trusts(peer.hostname)) {
      const got = await this.#readHeader(conn, peer);
      if (got === undefined) return undefined;
      client = got;
      if (client.proxied && !this.#options.admits(client.ip)) {
        counters.denied.inc();
        throttled.warn(
          "deny",
          `client ${client.ip} (via ${peer.hostname}) refused by allow/deny rules`,
        );
        safeClose(conn);
        return undefined;
      }
    } else {
      if (this.#accept !== "off" && this.#fallback === "reject") {
        counters.proxyRejected.inc();
        throttled.warn(
          "proxy-untrusted",
          `client ${peer.hostname} is not in trusted_proxies and proxy_fallback = "reject"; closed`,
        );
        safeClose(conn);
        return undefined;
      }
      client = {
        ip: peer.hostname,
        remoteAddr: peer,
        localAddr: conn.localAddr as Deno.NetAddr,
        early: NO_BYTES,
        proxied: false,
      };
    }
    const limiter = this.#options.limiter;
    let slot = NO_SLOT;
    if (limiter?.enabled) {
      const verdict = limiter.admit(client.ip);
      if (typeof verdict === "string") {
        counters.rateLimited.inc();
        throttled.warn(
          `limit-${verdict}`,
          `client ${client.ip} over its ${
            verdict === "rate" ? "max_conn_rate_per_client" : "max_connections_per_client"
          }; closed`,
        );
        safeClose(conn);
        return undefined;
      }
      slot = verdict;
    }
    return { ...client, release: () => slot.release() };
  }

  /**
   * Wrap a handler so it runs only for admitted clients, with the slot released at the end.
   * With `upgrade`, the handler gets the TLS connection started after the header (its
   * handshake still to complete) and no early bytes.
   *
   * @param handler The service's handler, given the admitted client.
   * @returns A handler for the frontend.
   */
  wrap(
    handler: (conn: NetConn, force: AbortSignal, client: AdmittedClient) => Promise<void>,
  ): (conn: NetConn, force: AbortSignal) => Promise<void> {
    return async (conn, force) => {
      const admitted = await this.admit(conn);
      if (admitted === undefined) return;
      const upgrade = this.#options.upgrade;
      const served = upgrade ? upgrade(conn, admitted.early) : conn;
      const client = upgrade ? { ...admitted, early: NO_BYTES } : admitted;
      // Returned, not awaited: no frame of this wrapper stays alive for the connection's life.
      return handler(served, force, client).finally(client.release);
    };
  }

  async #readHeader(
    conn: NetConn,
    peer: Deno.NetAddr,
  ): Promise<Omit<AdmittedClient, "release"> | undefined> {
    const { counters, throttled } = this.#options;
    const fail = (why: string) => {
      counters.proxyErrors.inc();
      throttled.warn("proxy-header", `PROXY header from ${peer.hostname}: ${why}; closed`);
      safeClose(conn);
      return undefined;
    };
    let buf = new Uint8Array(HEADER_BUF);
    let have = 0;
    const timeout = Promise.withResolvers<"timeout">();
    const timer = setTimeout(() => timeout.resolve("timeout"), this.#timeoutMs);
    try {
      for (;;) {
        if (have === buf.length) {
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const reading = conn.read(buf.subarray(have));
        const n = await Promise.race([reading, timeout.promise]).catch(() => null);
        if (n === "timeout") {
          reading.catch(() => {});
          return fail(`no complete header within ${this.#timeoutMs} ms`);
        }
        if (n === null) return fail(`connection ended after ${have} bytes`);
        have += n;
        const result = parseProxyHeader(buf.subarray(0, have), this.#accept as AcceptProxyVersion);
        if (result.kind === "need-more") continue;
        if (result.kind === "error") return fail(result.reason);
        const { header, consumed } = result;
        const early = buf.slice(consumed, have);
        if (header.command === "local" || header.source === undefined) {
          return {
            ip: peer.hostname,
            remoteAddr: peer,
            localAddr: conn.localAddr as Deno.NetAddr,
            early,
            proxied: false,
          };
        }
        const dst = header.destination!;
        return {
          ip: header.source.hostname,
          remoteAddr: { transport: "tcp", ...header.source },
          localAddr: { transport: "tcp", ...dst },
          early,
          proxied: true,
        };
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Write what goes upstream before the relay: our PROXY header for the real client (when
 * `mode` is not off), then the client's bytes read past its header.
 *
 * @param upstream The connection to the target or backend.
 * @param mode `proxy_protocol`: off, v1 or v2.
 * @param client The admitted client.
 * @returns Resolves once everything is written.
 * @throws {Deno.errors.BrokenPipe} (or another socket error) when the upstream is gone.
 * @example
 * ```ts
 * await sendPreamble(upstream, "v2", client);
 * await engine.relay(conn, upstream);
 * ```
 */
export async function sendPreamble(
  upstream: { write(p: Uint8Array): Promise<number> },
  mode: ProxyProtocolMode,
  client: AdmittedClient,
): Promise<void> {
  await sendProxyHeader(upstream, mode, client);
  let off = 0;
  while (off < client.early.length) off += await upstream.write(client.early.subarray(off));
}
