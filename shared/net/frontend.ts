/**
 * The client-facing listener of a forwarding service (proxy, load balancer): a
 * {@linkcode TcpServer} with allow/deny checked right after accept, the connection limit, both
 * counted and logged (throttled), and bind errors turned into one-line service errors.
 *
 * @module
 */

import { bindError } from "../service/errors.ts";
import type { ThrottledLog } from "../service/logger.ts";
import type { Logger } from "../service/logger.ts";
import type { Counter } from "../metrics/registry.ts";
import type { AdmittedClient, ClientGate } from "./client_gate.ts";
import type { Engine, NetConn } from "./engine.ts";
import { type ConnectionHandler, TcpServer } from "./server.ts";

/** Options for {@linkcode startFrontend}. */
export interface FrontendOptions {
  /** `listen_addr`. */
  listen: string;
  /** Handles each admitted connection. */
  handler: ConnectionHandler;
  /** `max_connections` (0 = unlimited). */
  maxConnections: number;
  /** Share the port with other workers (SO_REUSEPORT). @default false */
  reusePort?: boolean;
  /** The I/O engine. @default DENO_ENGINE */
  engine?: Engine;
  /** Whether a client IP passes the allow/deny rules (read per connection, so reloads apply). */
  admits: (ip: string) => boolean;
  /** Counts clients refused by the rules. */
  denied: Counter;
  /** Counts clients closed over `max_connections`. */
  rejected: Counter;
  /** Where refusals are reported, at most every few seconds per kind. */
  throttled: ThrottledLog;
  /** Logger for accept errors. */
  logger: Logger;
}

/**
 * Bind the client-facing listener.
 *
 * @param options Address, handler, limits, rules and counters.
 * @returns The running server.
 * @throws {ServiceError} When the address cannot be bound.
 * @example
 * ```ts
 * const server = startFrontend({
 *   listen: "127.0.0.1:0",
 *   handler: async (conn) => conn.close(),
 *   maxConnections: 0,
 *   admits: () => true,
 *   denied: new Counter(),
 *   rejected: new Counter(),
 *   throttled: new ThrottledLog(logger),
 *   logger,
 * });
 * ```
 */
export function startFrontend(options: FrontendOptions): TcpServer {
  try {
    return new TcpServer({
      listen: options.listen,
      handler: options.handler,
      maxConnections: options.maxConnections,
      reusePort: options.reusePort ?? false,
      ...(options.engine ? { engine: options.engine } : {}),
      admit: (conn) => {
        const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
        if (options.admits(ip)) return true;
        options.denied.inc();
        options.throttled.warn("deny", `client ${ip} refused by allow/deny rules`);
        return false;
      },
      onReject: () => {
        options.rejected.inc();
        options.throttled.warn(
          "reject",
          `max_connections (${options.maxConnections}) reached; closing new clients`,
        );
      },
      logger: options.logger,
    });
  } catch (error) {
    throw bindError("listen_addr", options.listen, error);
  }
}

/** What {@linkcode startGatedFrontend} needs besides the service's configuration. */
export interface GatedFrontendOptions
  extends Pick<FrontendOptions, "reusePort" | "engine" | "throttled" | "logger"> {
  /** The client gate in force, read per connection (a reload may build a new one). */
  gate: () => ClientGate;
  /** Handles each client the gate admitted (its address from a PROXY header, if any). */
  handler: (conn: NetConn, force: AbortSignal, client: AdmittedClient) => Promise<void>;
  /** Counts clients refused by allow/deny (`denied`) and over `max_connections` (`rejected`). */
  counters: { readonly denied: Counter; readonly rejected: Counter };
}

/**
 * Bind the client-facing listener of a service whose clients pass a {@linkcode ClientGate}
 * (PROXY protocol, allow/deny, per-client limits): {@linkcode startFrontend} with the gate's
 * accept check and its wrapped handler, from the service's `listen_addr` and `max_connections`.
 *
 * @param config The service's listen address and connection limit.
 * @param options The gate, handler, counters and logging.
 * @returns The running server.
 * @throws {ServiceError} When the address cannot be bound.
 * @example
 * ```ts
 * const server = startGatedFrontend(cfg, { gate: () => gate, handler, counters: m, throttled, logger });
 * ```
 */
export function startGatedFrontend(
  config: { readonly listen_addr: string; readonly max_connections: number },
  options: GatedFrontendOptions,
): TcpServer {
  const { gate, handler, counters, ...rest } = options;
  return startFrontend({
    ...rest,
    listen: config.listen_addr,
    maxConnections: config.max_connections,
    handler: (conn, force) => gate().wrap(handler)(conn, force),
    admits: (ip) => gate().atAccept(ip),
    denied: counters.denied,
    rejected: counters.rejected,
  });
}
