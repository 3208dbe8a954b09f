/**
 * I/O engines: the one interface every service's sockets go through, with two implementations.
 *
 * - `deno`: `Deno.listen` / `Deno.connect`, relays `loop` and `streams`. Portable (Linux, macOS,
 *   Windows), needs no FFI permission.
 * - `epoll` (Linux): raw non-blocking sockets driven by one `epoll` loop per thread through
 *   Deno's FFI; the relay and echo data paths run synchronously inside the loop, with no
 *   promise per chunk.
 *
 * `auto` picks `epoll` where it is available (Linux, `--allow-ffi` granted, libc loads) and
 * `deno` elsewhere.
 *
 * @module
 */

import { echoConn, type EchoOptions, type EchoResult } from "./echo.ts";
import {
  epollAvailable,
  EpollConn,
  epollConnect,
  epollEcho,
  epollListen,
  epollRelay,
} from "./epoll/mod.ts";
import { relay, type RelayOptions, type RelayResult } from "./relay.ts";

/** The engines. */
export type EngineName = "deno" | "epoll";
/** What the `engine` config key accepts. */
export type EngineChoice = "auto" | EngineName;
/** The `engine` values, for config validation. */
export const ENGINE_CHOICES: readonly EngineChoice[] = ["auto", "epoll", "deno"];

/**
 * A TCP connection as services use it: `Deno.TcpConn` is one, and so is the epoll engine's
 * socket.
 */
export interface NetConn {
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** Our end's address. */
  readonly localAddr: Deno.Addr;
  /** Read into `p`; resolves to the count, or null at end of input. */
  read(p: Uint8Array): Promise<number | null>;
  /** Write some of `p`; resolves to the count written. */
  write(p: Uint8Array): Promise<number>;
  /** Send a FIN (half-close); reading continues. */
  closeWrite(): Promise<void>;
  /** Close the socket. */
  close(): void;
  /** Set TCP_NODELAY. */
  setNoDelay?(noDelay?: boolean): void;
}

/** A listening TCP socket. */
export interface NetListener {
  /** The bound address. */
  readonly addr: Deno.Addr;
  /** Wait for the next connection. */
  accept(): Promise<NetConn>;
  /** Stop listening; a pending accept rejects with `Deno.errors.BadResource`. */
  close(): void;
}

/** Options for {@linkcode Engine.listen}. */
export interface EngineListenOptions {
  /** Host to bind. */
  hostname: string;
  /** Port (0: any free port). */
  port: number;
  /** Share the port with other listeners (SO_REUSEPORT). @default false */
  reusePort?: boolean;
}

/** Options for {@linkcode Engine.connect}. */
export interface EngineConnectOptions {
  /** Host to connect to. */
  hostname: string;
  /** Port. */
  port: number;
  /** Aborting closes the attempt. */
  signal?: AbortSignal;
}

/** The operations every engine provides. */
export interface Engine {
  /** Which engine this is. */
  readonly name: EngineName;
  /** Bind and listen. */
  listen(options: EngineListenOptions): NetListener;
  /** Connect (TCP_NODELAY set by the caller). */
  connect(options: EngineConnectOptions): Promise<NetConn>;
  /** Relay both ways until both directions are done, then close both; never rejects. */
  relay(client: NetConn, upstream: NetConn, options?: RelayOptions): Promise<RelayResult>;
  /** Echo every byte back until the client is done, then close; never rejects. */
  echo(conn: NetConn, options?: EchoOptions): Promise<EchoResult>;
}

/** Today's Deno path: `Deno.listen`, `Deno.connect`, the `loop` or `streams` relay. */
export const DENO_ENGINE: Engine = {
  name: "deno",
  listen({ hostname, port, reusePort }) {
    const options: Deno.TcpListenOptions & { reusePort?: boolean } = { hostname, port };
    if (reusePort) options.reusePort = true;
    return Deno.listen(options);
  },
  connect: ({ hostname, port, signal }) =>
    signal ? Deno.connect({ hostname, port, signal }) : Deno.connect({ hostname, port }),
  relay: (client, upstream, options) => relay(client, upstream, options),
  echo: (conn, options) => echoConn(conn, options),
};

/** Raw sockets on one epoll loop per thread, through FFI (Linux). */
export const EPOLL_ENGINE: Engine = {
  name: "epoll",
  listen: (options) => epollListen(options),
  connect: (options) => epollConnect(options),
  relay(client, upstream, options = {}) {
    if (!(client instanceof EpollConn) || !(upstream instanceof EpollConn)) {
      return Promise.reject(new TypeError("the epoll relay needs two epoll connections"));
    }
    return epollRelay(client, upstream, withoutMode(options));
  },
  echo(conn, options = {}) {
    if (!(conn instanceof EpollConn)) {
      return Promise.reject(new TypeError("the epoll echo needs an epoll connection"));
    }
    return epollEcho(conn, options);
  },
};

function withoutMode(options: RelayOptions): Omit<RelayOptions, "mode"> {
  const { mode: _mode, ...rest } = options;
  return rest;
}

/**
 * Resolve the `engine` config value to an engine.
 *
 * @param choice `auto`, `epoll` or `deno`.
 * @returns The engine; `auto` is `epoll` where it is available, else `deno`.
 * @throws {Error} When `epoll` is asked for where it cannot run (not Linux, or no FFI permission).
 * @example
 * ```ts
 * const engine = resolveEngine("auto");
 * console.log(engine.name); // "epoll" on Linux with --allow-ffi
 * ```
 */
export function resolveEngine(choice: EngineChoice = "auto"): Engine {
  if (choice === "deno") return DENO_ENGINE;
  if (epollAvailable()) return EPOLL_ENGINE;
  if (choice === "epoll") {
    throw new Error(
      `engine 'epoll' needs Linux and the FFI permission (--allow-ffi); ` +
        `use engine = "deno" or "auto" elsewhere`,
    );
  }
  return DENO_ENGINE;
}

/**
 * How the startup log line names the engine: `epoll`, or `deno (loop relay)`.
 *
 * @param engine The engine in use.
 * @param relayMode The `relay` key, which only the deno engine uses.
 * @returns A short label.
 * @example
 * ```ts
 * engineLabel(DENO_ENGINE, "streams"); // "deno (streams relay)"
 * ```
 */
export function engineLabel(engine: Engine, relayMode?: string): string {
  return engine.name === "deno" && relayMode ? `deno (${relayMode} relay)` : engine.name;
}
