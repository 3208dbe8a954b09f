/**
 * A TCP listener with an accept loop, connection tracking, a connection limit, accept-error
 * back-off and graceful drain: the part of every service that is not its handler.
 *
 * @module
 */

import { formatAddress, parseAddress } from "./address.ts";
import { DENO_ENGINE, type Engine, type NetConn, type NetListener } from "./engine.ts";
import { type Logger, ThrottledLog } from "../service/logger.ts";
import { safeClose } from "./relay.ts";

/** Handles one accepted connection; owns it and must close it. `signal` aborts on forced shutdown. */
export type ConnectionHandler = (conn: NetConn, signal: AbortSignal) => Promise<void>;

/** Options for {@linkcode TcpServer}. */
export interface TcpServerOptions {
  /** `host:port` to listen on (port 0: any free port). */
  listen: string;
  /** Called for every accepted connection within the limit. */
  handler: ConnectionHandler;
  /** Connections beyond this are closed at once; 0 means unlimited. @default 0 */
  maxConnections?: number;
  /** Called (then the connection closed) when the limit is reached. */
  onReject?: (conn: NetConn) => void;
  /**
   * Checked right after accept, before the limit and the handler: false closes the
   * connection at once (e.g. a client outside the allowed CIDR blocks). @default admit all
   */
  admit?: (conn: NetConn) => boolean;
  /** Logger for accept errors. */
  logger?: Logger;
  /** Share the port with other listeners (SO_REUSEPORT, needs `--unstable-net`). @default false */
  reusePort?: boolean;
  /** The I/O engine that listens and accepts. @default DENO_ENGINE */
  engine?: Engine;
}

const BACKOFF_MIN_MS = 5;
const BACKOFF_MAX_MS = 1000;

/**
 * Accepts connections and runs a handler for each, tracking them so shutdown can drain.
 *
 * @example
 * ```ts
 * const server = new TcpServer({ listen: "127.0.0.1:0", handler: async (conn) => conn.close() });
 * console.log(server.addr);
 * await server.shutdown(1000);
 * ```
 */
export class TcpServer {
  /** The bound address as `host:port`. */
  readonly addr: string;
  /** Accept errors since start (EMFILE and the like). */
  acceptErrors = 0;
  #listener: NetListener;
  #options: TcpServerOptions;
  /** Connections whose handler has not settled (a count, not a set of promises: less memory). */
  #active = 0;
  #force = new AbortController();
  #accepting = true;
  #loop: Promise<void>;
  #idle: PromiseWithResolvers<void> | undefined;
  #acceptLog: ThrottledLog | undefined;

  /**
   * Bind and start accepting.
   *
   * @param options Listen address, handler and limits.
   * @throws {Deno.errors.AddrInUse} When the address is taken.
   */
  constructor(options: TcpServerOptions) {
    this.#options = options;
    this.#acceptLog = options.logger ? new ThrottledLog(options.logger) : undefined;
    const { hostname, port } = parseAddress(options.listen);
    this.#listener = (options.engine ?? DENO_ENGINE).listen({
      hostname,
      port,
      reusePort: options.reusePort ?? false,
    });
    this.addr = formatAddress(this.#listener.addr as Deno.NetAddr);
    this.#loop = this.#acceptLoop();
  }

  /** Connections being handled now. */
  get active(): number {
    return this.#active;
  }

  /** False once {@linkcode TcpServer.stopAccepting} or shutdown began. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** Aborted when shutdown forces the remaining connections closed. */
  get forceSignal(): AbortSignal {
    return this.#force.signal;
  }

  async #acceptLoop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (this.#accepting) {
      let conn: NetConn;
      try {
        conn = await this.#listener.accept();
        backoff = BACKOFF_MIN_MS;
      } catch (error) {
        if (
          !this.#accepting || error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted
        ) {
          return;
        }
        // EMFILE/ENFILE and friends: wait, then try again; the service keeps serving.
        // Throttled: while out of descriptors every freed one lets an accept through and the
        // next fails again, which would otherwise log a line every few ms.
        this.acceptErrors++;
        this.#acceptLog?.warn(
          "accept",
          `accept failed (${(error as Error).message}); backing off (${backoff} ms)`,
        );
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      if (this.#options.admit !== undefined && !this.#admit(conn)) {
        safeClose(conn);
        continue;
      }
      const limit = this.#options.maxConnections ?? 0;
      if (limit > 0 && this.#active >= limit) {
        try {
          this.#options.onReject?.(conn);
        } finally {
          safeClose(conn);
        }
        continue;
      }
      this.#track(conn);
    }
  }

  #admit(conn: NetConn): boolean {
    try {
      return this.#options.admit!(conn);
    } catch (error) {
      // A filter that throws refuses the client; the accept loop must keep running.
      this.#options.logger?.error(`admit check failed: ${(error as Error)?.message ?? error}`);
      return false;
    }
  }

  #track(conn: NetConn): void {
    this.#active++;
    this.#options.handler(conn, this.#force.signal).then(this.#settled, (error) => {
      this.#options.logger?.error(
        `connection handler failed: ${(error as Error)?.message ?? error}`,
      );
      try {
        safeClose(conn);
      } catch {
        // Already gone.
      }
      this.#settled();
    });
  }

  /** One handler settled. */
  #settled = (): void => {
    if (--this.#active === 0) this.#idle?.resolve();
  };

  /** Close the listener; live connections continue. */
  stopAccepting(): void {
    if (!this.#accepting) return;
    this.#accepting = false;
    safeClose(this.#listener);
  }

  /**
   * Resolve when no connection is active.
   *
   * @returns A promise that settles at zero active connections.
   */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    const idle = this.#idle;
    return idle.promise.finally(() => {
      if (this.#idle === idle) this.#idle = undefined;
    });
  }

  /**
   * Stop accepting, give live connections `graceMs` to finish, then force-close the rest.
   *
   * @param graceMs How long to wait before closing live connections.
   * @returns How many connections were force-closed.
   */
  async shutdown(graceMs: number): Promise<{ forced: number }> {
    this.stopAccepting();
    await this.#loop;
    let forced = 0;
    if (this.#active > 0) {
      const timer = Promise.withResolvers<void>();
      const id = setTimeout(timer.resolve, graceMs);
      await Promise.race([this.idle(), timer.promise]);
      clearTimeout(id);
      forced = this.#active;
      if (forced > 0) {
        this.#force.abort();
        await this.idle();
      }
    }
    return { forced };
  }
}
