/**
 * Upstream TLS without certificate verification (`upstream_tls_insecure`): Deno's own
 * `startTls` always verifies the chain, so this one path goes through `node:tls` with
 * `rejectUnauthorized: false`, wrapped as a {@linkcode NetConn}.
 *
 * @module
 */

import tls from "node:tls";
import { isIP } from "node:net";
import type { EngineConnectOptions, NetConn } from "./engine.ts";

/** Pause the socket while this many bytes wait to be read. */
const HIGH_WATER = 64 * 1024;

/**
 * Connect and finish a TLS handshake without verifying the peer's certificate.
 *
 * @param options Host, port and abort signal.
 * @param serverName SNI to send (IP addresses send none).
 * @returns The connection.
 * @throws {Error} When the connect or the handshake fails, or the signal aborts.
 */
export function connectInsecureTls(
  options: EngineConnectOptions,
  serverName: string,
): Promise<NetConn> {
  const { hostname, port, signal } = options;
  return new Promise((resolve, reject) => {
    const tlsOptions: tls.ConnectionOptions = { host: hostname, port, rejectUnauthorized: false };
    if (isIP(serverName) === 0) tlsOptions.servername = serverName;
    const socket = tls.connect(tlsOptions);
    const onAbort = () => {
      socket.destroy();
      reject(signal?.reason);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => {
      signal?.removeEventListener("abort", onAbort);
      socket.removeListener("error", onError);
      socket.setNoDelay(true);
      resolve(new NodeTlsConn(socket));
    });
    const onError = (error: Error) => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(error);
    };
    socket.once("error", onError);
  });
}

/** A `node:tls` socket with the promise `read`/`write` of a {@linkcode NetConn}. */
class NodeTlsConn implements NetConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  #socket: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    this.localAddr = netAddr(socket.localAddress, socket.localPort);
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      const chunk = this.#chunks[0];
      if (chunk !== undefined) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
        this.#buffered -= n;
        if (this.#buffered < HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
        return n;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  write(p: Uint8Array): Promise<number> {
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(copy, (error) => error ? reject(error) : resolve(copy.length));
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  close(): void {
    this.#socket.destroy();
    this.#ended = true;
    this.#notify();
  }
}

function netAddr(hostname: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}
