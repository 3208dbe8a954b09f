/**
 * One client connection: pick a backend, connect (retrying the next pick on refusal or
 * timeout), send the PROXY header if configured, relay both ways, count everything. Each
 * connection reads the settings once, at accept: a reload never changes a connection halfway.
 *
 * @module
 */

import {
  type AdmittedClient,
  ConnectError,
  type ConnectionHandler,
  connectTcp,
  DENO_ENGINE,
  type Engine,
  type Logger,
  type NetConn,
  safeClose,
  sendProxyHeader,
  type ThrottledLog,
} from "@monkey/shared";
import type { Backend } from "./backend.ts";
import type { LbConfig } from "./config.ts";
import type { LbMetrics } from "./metrics.ts";
import type { BackendPool } from "./pool.ts";
import type { Strategy } from "./strategies.ts";

/** The settings one connection runs with, swapped as a whole on reload. */
export interface ConnectionSettings {
  /** The configuration (timeouts, retries, PROXY protocol, relay). */
  readonly config: LbConfig;
  /** The strategy that picks backends. */
  readonly strategy: Strategy;
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
}

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
  const { pool, metrics: m, health, throttled, logger } = options;
  const engine = options.engine ?? DENO_ENGINE;
  const writeHeader = options.writeProxyHeader ?? sendProxyHeader;

  /** Connect to a backend, retrying the next pick; undefined when the client was closed. */
  const connect = async (
    client: NetConn,
    force: AbortSignal,
    { config, strategy }: ConnectionSettings,
    clientIp: string,
  ): Promise<{ backend: Backend; upstream: NetConn } | undefined> => {
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
          engine,
        });
        chosen.recordLatency(performance.now() - began);
        if (health.enabled && chosen.consecutiveFailures > 0) health.record(chosen, true, "");
        return { backend: chosen, upstream };
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

  // `peer`: the client as the gate admitted it (PROXY header, limits); absent, the socket's.
  return async (client: NetConn, force: AbortSignal, peer?: AdmittedClient) => {
    const settings = options.settings();
    const { config } = settings;
    m.total.inc();
    const clientIp = peer?.ip ?? (client.remoteAddr as Deno.NetAddr).hostname;
    const connected = await connect(client, force, settings, clientIp);
    if (connected === undefined) return;
    const { backend, upstream } = connected;
    const stats = backend.attach();
    try {
      await writeHeader(upstream, config.proxy_protocol, peer ?? client);
      // Client bytes read past its PROXY header go first.
      for (let off = 0; peer !== undefined && off < peer.early.length;) {
        off += await upstream.write(peer.early.subarray(off));
      }
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
    if (result.reason === "idle_timeout") m.idleTimeouts.inc();
    else if (result.reason === "reset" || result.reason === "error") m.relayErrors.inc();
  };
}
