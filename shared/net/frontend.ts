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
import type { Engine } from "./engine.ts";
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
