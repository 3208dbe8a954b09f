/**
 * One client connection: pick a backend, connect (retrying the next pick on refusal or
 * timeout), send the PROXY header if configured, relay both ways, count everything. Each
 * connection reads the settings once, at accept: a reload never changes a connection halfway.
 *
 * @module
 */

import {
  type AdmittedClient,
  completeHandshake,
  ConnectError,
  type ConnectionHandler,
  connectTcp,
  type Counter,
  DENO_ENGINE,
  type Engine,
  type Logger,
  type NetConn,
  readClientHello,
  safeClose,
  sendProxyHeader,
  type ThrottledLog,
  writeAll,
} from "@monkey/shared";
import type { Backend } from "./backend.ts";
import type { LbConfig } from "./config.ts";
import type { LbMetrics } from "./metrics.ts";
import type { BackendPool } from "./pool.ts";
import type { Strategy } from "./strategies.ts";
import type { ClientFacts, Route, RoutedPool, Router } from "./routing.ts";

/** The settings one connection runs with, swapped as a whole on reload. */
export interface ConnectionSettings {
  /** The configuration (timeouts, retries, PROXY protocol, relay). */
  readonly config: LbConfig;
  /** The strategy that picks backends. */
  readonly strategy: Strategy;
  /** The routes and named pools; undefined: every client goes to `pool`. */
  readonly router?: Router;
}

/** Counters of TLS termination and ClientHello inspection. */
export interface TlsCounters {
  /** Client TLS handshakes that failed or timed out (termination). */
  handshakeFailures: Counter;
  /** Clients without a server name where SNI routes exist. */
  sniMisses: Counter;
  /** ClientHellos that were malformed or too large. */
  helloErrors: Counter;
  /** Clients that sent no decisive ClientHello within `inspect_timeout_ms`. */
  inspectTimeouts: Counter;
}

/** Passive health: what a connect result tells the checks. */
export interface PassiveHealth {
  /** Whether results count (active checks on). */
  readonly enabled: boolean;
  /**
   * Record one result.
   *
   * @param backend The backend.
   * @param ok Whether the connect succeeded.
   * @param why What happened.
   */
  record(backend: Backend, ok: boolean, why: string): void;
}

/** Writes the PROXY protocol header (what `sendProxyHeader` does). */
export type ProxyHeaderWriter = (
  upstream: NetConn,
  mode: LbConfig["proxy_protocol"],
  client: { readonly remoteAddr: Deno.Addr; readonly localAddr: Deno.Addr },
) => Promise<void>;

/** Options for {@linkcode createConnectionHandler}. */
export interface ConnectionHandlerOptions {
  /** The backends. */
  pool: BackendPool;
  /** Counters to bump. */
  metrics: LbMetrics;
  /** Passive health checks. */
  health: PassiveHealth;
  /** The settings in force; read once per connection, at accept. */
  settings: () => ConnectionSettings;
  /** Warnings, at most one per kind every few seconds. */
  throttled: ThrottledLog;
  /** Debug line per connection. */
  logger: Logger;
  /** Writes the PROXY header. @default sendProxyHeader */
  writeProxyHeader?: ProxyHeaderWriter;
  /** The I/O engine (fixed for the process: a reload does not change it). @default DENO_ENGINE */
  engine?: Engine;
  /** The listener terminates TLS: finish the handshake first. @default false */
  terminatesTls?: boolean;
  /** TLS and inspection counters (needed with routes or TLS). */
  tlsCounters?: TlsCounters;
}

/** Where a connection goes: a pool, its strategy and health, and how to connect to it. */
type Target = Pick<RoutedPool, "pool" | "strategy" | "health" | "engine">;

/** Socket errors a header write may meet when the backend or client is gone. */
const SOCKET_ERRORS = [
  Deno.errors.BrokenPipe,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.NotConnected,
  Deno.errors.UnexpectedEof,
  Deno.errors.TimedOut,
  Deno.errors.BadResource,
  Deno.errors.Interrupted,
];

/**
 * Build the handler the frontend runs for each admitted client.
 *
 * @param options Pool, metrics, health, settings and logging.
 * @returns The handler (client connection, forced-shutdown signal).
 * @example
 * ```ts
 * const handler = createConnectionHandler({ pool, metrics, health: checker, settings: () => current, throttled, logger });
 * startFrontend({ listen: "127.0.0.1:0", handler, ... });
 * ```
 */
export function createConnectionHandler(options: ConnectionHandlerOptions): ConnectionHandler {
  const { metrics: m, throttled, logger } = options;
  const tlsCounters = options.tlsCounters;
  const engine = options.engine ?? DENO_ENGINE;
  const writeHeader = options.writeProxyHeader ?? sendProxyHeader;

  /** Connect to a backend, retrying the next pick; undefined when the client was closed. */
  const connect = async (
    client: NetConn,
    force: AbortSignal,
    config: LbConfig,
    target: Target,
    clientIp: string,
  ): Promise<{ backend: Backend; upstream: NetConn; connectMs: number } | undefined> => {
    const { pool, strategy, health } = target;
    const connector = target.engine ?? engine;
    const tried = new Set<Backend>();
    for (;;) {
      const { candidates, group } = pool.candidates(tried);
      const chosen = strategy.pick(candidates, { clientIp, group });
      if (chosen === undefined) {
        if (tried.size === 0) {
          m.noBackend.inc();
          throttled.warn("no-backend", `no backend available; closed client ${clientIp}`);
        } else {
          m.failed.inc();
        }
        safeClose(client);
        return undefined;
      }
      chosen.reserve();
      const began = performance.now();
      try {
        const upstream = await connectTcp(chosen.addr, {
          timeoutMs: config.connect_timeout_ms,
          signal: force,
          engine: connector,
        });
        const connectMs = performance.now() - began;
        chosen.recordLatency(connectMs);
        if (health.enabled && chosen.consecutiveFailures > 0) health.record(chosen, true, "");
        return { backend: chosen, upstream, connectMs };
      } catch (error) {
        chosen.release();
        if (!(error instanceof ConnectError) || error.kind === "aborted") {
          safeClose(client);
          if (error instanceof ConnectError) return undefined;
          throw error;
        }
        tried.add(chosen);
        const retry = tried.size <= config.retries;
        chosen.connectFailed(retry);
        throttled.warn(`connect:${chosen.addr}:${error.kind}`, error.message);
        // Our own shortage (out of descriptors) is no failure of the backend.
        if (health.enabled && error.kind !== "local") {
          health.record(chosen, false, `connect ${error.kind}`);
        }
        if (!retry) {
          m.failed.inc();
          safeClose(client);
          return undefined;
        }
        m.retries.inc();
      }
    }
  };

  /**
   * Where this client goes, and the bytes read while finding out (`early` included: the bytes
   * read past a PROXY header start the ClientHello); undefined: closed.
   */
  const route = async (
    client: NetConn,
    settings: ConnectionSettings,
    clientIp: string,
    early: Uint8Array,
  ): Promise<
    {
      target: Target;
      route?: Route;
      pool?: RoutedPool;
      buffered?: Uint8Array;
    } | undefined
  > => {
    let alpn: readonly string[] = [];
    if (options.terminatesTls) {
      const handshake = await completeHandshake(client);
      if (!handshake.ok) {
        tlsCounters?.handshakeFailures.inc();
        throttled.warn(
          "tls-handshake",
          `TLS handshake with ${clientIp} failed: ${handshake.reason}`,
        );
        safeClose(client);
        return undefined;
      }
      if (handshake.alpn !== null) alpn = [handshake.alpn];
    }
    const router = settings.router;
    if (router === undefined) {
      return {
        target: { pool: options.pool, strategy: settings.strategy, health: options.health },
      };
    }
    const facts: ClientFacts = { clientIp, sni: undefined, alpn };
    let buffered: Uint8Array | undefined;
    if (router.inspects) {
      let read;
      try {
        read = await readClientHello(client, {
          timeoutMs: router.inspectTimeoutMs,
          prefix: early,
        });
      } catch {
        safeClose(client); // reset while we waited
        return undefined;
      }
      const { result } = read;
      buffered = read.buffered;
      if (result.kind === "hello") {
        facts.sni = result.sni;
        facts.alpn = result.alpn;
      } else if (result.kind === "malformed") {
        tlsCounters?.helloErrors.inc();
        throttled.warn(
          "client-hello",
          `bad ClientHello from ${clientIp} (${result.reason}); closed`,
        );
        safeClose(client);
        return undefined;
      } else if (result.kind === "timeout" || result.kind === "eof") {
        if (result.kind === "timeout") tlsCounters?.inspectTimeouts.inc();
        safeClose(client);
        return undefined;
      }
      if (facts.sni === undefined) {
        tlsCounters?.sniMisses.inc();
        if (router.noSni === "close") {
          safeClose(client);
          return undefined;
        }
      }
    }
    const picked = router.pick(facts);
    picked.pool.traffic.connections++;
    if (picked.route) picked.route.traffic.connections++;
    return {
      target: picked.pool,
      pool: picked.pool,
      ...(picked.route ? { route: picked.route } : {}),
      ...(buffered ? { buffered } : {}),
    };
  };

  // `peer`: the client as the gate admitted it (PROXY header, limits); absent, the socket's.
  return async (client: NetConn, force: AbortSignal, peer?: AdmittedClient) => {
    const settings = options.settings();
    const { config } = settings;
    m.total.inc();
    const clientIp = peer?.ip ?? (client.remoteAddr as Deno.NetAddr).hostname;
    const early = peer?.early ?? new Uint8Array(0);
    const routed = await route(client, settings, clientIp, early);
    if (routed === undefined) return;
    const connected = await connect(client, force, config, routed.target, clientIp);
    if (connected === undefined) return;
    const { backend, upstream, connectMs } = connected;
    // Only least_latency needs the first-byte time (one check per direction per connection).
    const measure = routed.target.strategy.name === "least_latency";
    const stats = backend.attach(measure ? connectMs : undefined);
    try {
      await writeHeader(upstream, config.proxy_protocol, peer ?? client);
      // Client bytes read past its PROXY header, and those read while routing (which start
      // with them when the ClientHello was inspected).
      const first = routed.buffered ?? early;
      if (first.length > 0) await writeAll(upstream, first);
    } catch (error) {
      safeClose(client);
      safeClose(upstream);
      backend.finish(stats);
      m.relayErrors.inc();
      m.proxyHeaderErrors.inc();
      if (!SOCKET_ERRORS.some((kind) => error instanceof kind)) throw error;
      throttled.warn(
        `proxy-header:${backend.addr}`,
        `Cannot write the PROXY protocol ${config.proxy_protocol} header to ${backend.addr}: ${
          (error as Error).message
        }; closed the client`,
      );
      return;
    }
    if (logger.enabled("debug")) {
      logger.debug(`${clientIp} -> ${backend.addr}`);
    }
    const result = await engine.relay(client, upstream, {
      mode: config.relay,
      idleTimeoutMs: config.idle_timeout_secs * 1000,
      stats,
      signal: force,
    });
    backend.finish(stats);
    const up = result.up + (routed.buffered ?? early).length;
    for (const traffic of [routed.pool?.traffic, routed.route?.traffic]) {
      if (traffic === undefined) continue;
      traffic.bytesUp += up;
      traffic.bytesDown += result.down;
    }
    if (result.reason === "idle_timeout") m.idleTimeouts.inc();
    else if (result.reason === "reset" || result.reason === "error") m.relayErrors.inc();
  };
}
