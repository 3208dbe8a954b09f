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
import { nodeSocketError, SocketInbox } from "./_socket_inbox.ts";

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
  #inbox: SocketInbox;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    this.localAddr = netAddr(socket.localAddress, socket.localPort);
    this.#inbox = new SocketInbox(socket, HIGH_WATER);
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#inbox.read(p);
  }

  write(p: Uint8Array): Promise<number> {
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(
        copy,
        (error) => error ? reject(nodeSocketError(error)) : resolve(copy.length),
      );
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(resolve));
  }

  close(): void {
    this.#socket.destroy();
    this.#inbox.end();
  }
}

function netAddr(hostname: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}
