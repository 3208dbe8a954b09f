/**
 * Server-side TLS over a connection that is already open: what HAProxy's
 * `bind … accept-proxy ssl crt` does, reading the PROXY header in clear and then running the
 * TLS handshake on the same socket. Deno has no server-side `startTls`, so the handshake runs
 * in `node:tls` (`TLSSocket` with `isServer`) over a `Duplex` that reads and writes the
 * accepted connection; {@linkcode ServerTlsConn} turns the result back into a
 * {@linkcode NetConn} the relay uses, with a `handshake()` like `Deno.TlsConn`'s.
 *
 * It costs more per chunk than `Deno.listenTls` (node streams on both layers), so services
 * use it only where the clear-text header comes first.
 *
 * @module
 */

import { type SecureContext, TLSSocket } from "node:tls";
import { Duplex } from "node:stream";
import type { NetConn } from "./engine.ts";
import { nodeSocketError, SocketInbox } from "./_socket_inbox.ts";

/** Bytes buffered from the TLS socket before it is paused until the relay reads. */
const HIGH_WATER = 256 * 1024;
/** Socket reads: one largest TLS record (16 KiB of data plus its overhead); held while idle. */
const READ_CHUNK = 17 * 1024;
/** How long a close waits for the last records (close_notify) to reach the socket. */
export const CLOSE_FLUSH_MS = 1000;

/** Options for {@linkcode ServerTlsConn}. */
export interface ServerTlsOptions {
  /** Certificate and key, as `node:tls` `createSecureContext` built them. */
  secureContext: SecureContext;
  /** ALPN protocols offered. @default [] */
  alpn?: string[];
  /** Bytes already read from `raw` that belong to the TLS stream (the ClientHello's start). */
  early?: Uint8Array;
}

/** A Duplex reading and writing `raw`, `early` first; closing it closes `raw` once writes land. */
function duplexOver(raw: NetConn, early: Uint8Array): Duplex {
  let pumping = false;
  let writes: Promise<unknown> = Promise.resolve();
  const writeAll = async (chunk: Uint8Array) => {
    let off = 0;
    while (off < chunk.length) off += await raw.write(chunk.subarray(off));
  };
  const duplex: Duplex = new Duplex({
    read() {
      if (pumping) return;
      pumping = true;
      void (async () => {
        const buf = new Uint8Array(READ_CHUNK);
        for (;;) {
          let n: number | null;
          try {
            n = await raw.read(buf);
          } catch (error) {
            duplex.destroy(error as Error);
            return;
          }
          if (n === null) {
            duplex.push(null);
            return;
          }
          if (!duplex.push(buf.slice(0, n))) break;
        }
        pumping = false;
      })();
    },
    write(chunk: Uint8Array, _encoding, callback) {
      const done = writes.then(() => writeAll(chunk));
      writes = done.catch(() => {});
      done.then(() => callback(), (error) => callback(error as Error));
    },
    final(callback) {
      writes.then(() => raw.closeWrite()).then(() => callback(), () => callback());
    },
    destroy(error, callback) {
      // The TLS socket's last records (close_notify) may still be on their way to `raw`;
      // a peer that reads nothing gets CLOSE_FLUSH_MS.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const flushed = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, error ? 0 : CLOSE_FLUSH_MS);
        void writes.then(() => resolve());
      });
      void flushed.then(() => {
        clearTimeout(timer);
        try {
          raw.close();
        } catch {
          // Closed already.
        }
        callback(error);
      });
    },
  });
  if (early.length > 0) duplex.unshift(early);
  return duplex;
}

/**
 * A connection whose server-side TLS runs in `node:tls` over an accepted connection: reads
 * and writes carry plaintext, `closeWrite()` sends close_notify and a FIN, `close()` ends
 * both.
 *
 * @example
 * ```ts
 * const secure = new ServerTlsConn(conn, { secureContext: createSecureContext({ cert, key }), early });
 * await secure.handshake();
 * await engine.relay(secure, upstream);
 * ```
 */
export class ServerTlsConn implements NetConn {
  /** The client's address (of the accepted connection). */
  readonly remoteAddr: Deno.Addr;
  /** Our end's address. */
  readonly localAddr: Deno.Addr;
  #raw: NetConn;
  #duplex: Duplex;
  #tls: TLSSocket;
  #inbox: SocketInbox;
  #closed = false;
  #secure = false;
  #handshake: Promise<Deno.TlsHandshakeInfo>;

  /**
   * Start the server handshake over `raw` (it completes as the client answers).
   *
   * @param raw The accepted connection, positioned at the start of the TLS stream.
   * @param options The secure context, ALPN protocols and bytes already read.
   */
  constructor(raw: NetConn, options: ServerTlsOptions) {
    this.#raw = raw;
    this.remoteAddr = raw.remoteAddr;
    this.localAddr = raw.localAddr;
    const alpn = options.alpn ?? [];
    this.#duplex = duplexOver(raw, options.early ?? new Uint8Array(0));
    this.#tls = new TLSSocket(this.#duplex, {
      isServer: true,
      secureContext: options.secureContext,
      ...(alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
    });
    const secured = Promise.withResolvers<Deno.TlsHandshakeInfo>();
    this.#handshake = secured.promise;
    this.#handshake.catch(() => {});
    const tls = this.#tls;
    tls.once("secure", () => {
      this.#secure = true;
      const protocol = tls.alpnProtocol;
      secured.resolve({ alpnProtocol: typeof protocol === "string" ? protocol : null });
    });
    this.#inbox = new SocketInbox(tls, HIGH_WATER);
    const gone = () => new Deno.errors.UnexpectedEof("the client left before the handshake");
    tls.on("end", () => secured.reject(gone()));
    tls.on("error", () => secured.reject(this.#inbox.error));
    tls.on("close", () => secured.reject(this.#inbox.error ?? gone()));
  }

  /**
   * Wait for the handshake.
   *
   * @returns The ALPN protocol agreed on.
   * @throws {Error} When the client fails the handshake or goes away first.
   */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.#handshake;
  }

  /**
   * Read plaintext into `p`.
   *
   * @param p The buffer.
   * @returns The count, or null once the client ended its stream.
   * @throws {Deno.errors.BadResource} After `close()`; the socket's error when it failed.
   */
  read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("connection closed"));
    return this.#inbox.read(p);
  }

  /**
   * Write all of `p` as plaintext (it is copied); an empty `p` probes the socket underneath.
   *
   * @param p The bytes.
   * @returns `p.length` once the records are written to the socket.
   * @throws {Deno.errors.BrokenPipe} (or the socket's error) when the connection is gone.
   */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("connection closed"));
    // node:tls refuses empty writes (EPERM); the relay's zero-length probe (a reset socket
    // fails it, a half-closed one does not) goes to the socket underneath.
    if (p.length === 0) return this.#raw.write(p);
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#tls.write(p.slice(), (error?: Error | null) => {
      if (error) reject(nodeSocketError(error));
      else resolve(p.length);
    });
    return promise;
  }

  /**
   * Send close_notify, then a FIN; reading continues.
   *
   * @returns Resolves once both are written.
   */
  closeWrite(): Promise<void> {
    if (this.#closed || this.#tls.writableEnded) return Promise.resolve();
    return new Promise((resolve) => this.#tls.end(() => resolve()));
  }

  /**
   * Close both directions: like `Deno.TlsConn`, a connection that completed its handshake
   * sends close_notify first (flushed for at most {@linkcode CLOSE_FLUSH_MS}).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox.end();
    const tls = this.#tls;
    // Destroying the TLS socket does not always destroy the stream under it: close both.
    const destroy = () => {
      tls.destroy();
      this.#duplex.destroy();
    };
    if (!this.#secure || this.#inbox.error !== undefined || tls.destroyed || tls.writableEnded) {
      destroy();
      return;
    }
    const timer = setTimeout(destroy, CLOSE_FLUSH_MS);
    const done = () => {
      clearTimeout(timer);
      destroy();
    };
    tls.once("close", done);
    tls.end(done);
  }

  /**
   * Set TCP_NODELAY on the accepted connection.
   *
   * @param noDelay On or off. @default true
   */
  setNoDelay(noDelay = true): void {
    this.#raw.setNoDelay?.(noDelay);
  }
}
