/**
 * The `deno` engine with TLS: a listener that terminates TLS and can swap its certificate
 * without dropping live connections, and connects that originate TLS (verified by default).
 *
 * @module
 */

import { DENO_ENGINE, type Engine, type NetConn, type NetListener } from "./engine.ts";
import type { TlsCertificate, UpstreamTlsSettings } from "./tls.ts";
import { connectInsecureTls } from "./_insecure_tls.ts";

/** Options of a TLS listener. */
export interface TlsListenerOptions {
  /** Host to bind. */
  hostname: string;
  /** Port (0: any free port). */
  port: number;
  /** Certificate and key. */
  certificate: TlsCertificate;
  /** ALPN protocols offered. @default [] */
  alpn?: string[];
}

/**
 * A TLS listener whose certificate can be replaced: {@linkcode ReloadableTlsListener.reload}
 * binds a new socket on the same port (SO_REUSEPORT) before closing the old one, so clients
 * keep connecting and live connections are untouched.
 *
 * @example
 * ```ts
 * const listener = new ReloadableTlsListener({ hostname: "127.0.0.1", port: 0, certificate });
 * listener.reload(newCertificate);
 * ```
 */
export class ReloadableTlsListener implements NetListener {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  #current: Deno.TlsListener;
  #alpn: string[];
  #closed = false;

  /**
   * Bind.
   *
   * @param options Address, certificate and ALPN.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   */
  constructor(options: TlsListenerOptions) {
    this.#alpn = options.alpn ?? [];
    if (options.port !== 0) {
      // Every socket on the port needs SO_REUSEPORT for reload; a plain bind first keeps
      // "address in use" an error instead of silently sharing the port with another process.
      Deno.listen({ hostname: options.hostname, port: options.port }).close();
    }
    this.#current = this.#listen(options.hostname, options.port, options.certificate);
    this.addr = this.#current.addr;
  }

  #listen(hostname: string, port: number, certificate: TlsCertificate): Deno.TlsListener {
    const options: Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem & { reusePort: boolean } = {
      hostname,
      port,
      cert: certificate.cert,
      key: certificate.key,
      reusePort: true,
    };
    if (this.#alpn.length > 0) options.alpnProtocols = this.#alpn;
    return Deno.listenTls(options);
  }

  /**
   * Serve new connections with another certificate; live connections keep theirs.
   *
   * @param certificate The new certificate and key (checked by the caller).
   * @throws {Error} When Deno refuses the pair; the old certificate stays in use then.
   */
  reload(certificate: TlsCertificate): void {
    if (this.#closed) return;
    const next = this.#listen(this.addr.hostname, this.addr.port, certificate);
    const old = this.#current;
    this.#current = next;
    old.close();
  }

  /**
   * Wait for the next connection (the TLS handshake happens on first use, or
   * {@linkcode completeHandshake}).
   *
   * @returns The connection.
   */
  async accept(): Promise<NetConn> {
    for (;;) {
      const listener = this.#current;
      try {
        return await listener.accept();
      } catch (error) {
        // A reload closed the listener we were waiting on: wait on the new one.
        if (!this.#closed && listener !== this.#current) continue;
        throw error;
      }
    }
  }

  /** Stop listening. */
  close(): void {
    this.#closed = true;
    this.#current.close();
  }
}

/** What a TLS handshake gave. */
export type HandshakeResult =
  | {
    /** Completed. */
    ok: true;
    /** The ALPN protocol agreed on, if any. */
    alpn: string | null;
  }
  | {
    /** Failed or timed out. */
    ok: false;
    /** Why. */
    reason: string;
  };

/** Default time a client gets to finish the TLS handshake, in ms. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Run the TLS handshake of an accepted connection now (so failures are counted as such, not
 * as relay errors). Plain TCP connections pass at once.
 *
 * @param conn An accepted connection.
 * @param timeoutMs Give up after this long.
 * @returns Whether it completed, and the ALPN protocol.
 * @example
 * ```ts
 * const done = await completeHandshake(client, 10_000);
 * if (!done.ok) client.close();
 * ```
 */
export async function completeHandshake(
  conn: NetConn,
  timeoutMs: number = TLS_HANDSHAKE_TIMEOUT_MS,
): Promise<HandshakeResult> {
  const tls = conn as Partial<Deno.TlsConn>;
  if (typeof tls.handshake !== "function") return { ok: true, alpn: null };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<HandshakeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `no handshake within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const handshake = tls.handshake.call(conn).then(
    (info): HandshakeResult => ({ ok: true, alpn: info.alpnProtocol }),
    (error): HandshakeResult => ({ ok: false, reason: (error as Error).message.split("\n")[0]! }),
  );
  try {
    return await Promise.race([handshake, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options for {@linkcode createTlsEngine}. */
export interface TlsEngineOptions {
  /** Terminate TLS on listeners with this certificate. */
  certificate?: TlsCertificate | undefined;
  /** ALPN protocols the listener offers. @default [] */
  alpn?: string[];
  /** Originate TLS on connects. */
  upstream?: UpstreamTlsSettings | undefined;
}

/** The `deno` engine with TLS listeners and/or TLS connects. */
export interface TlsEngine extends Engine {
  /**
   * Serve new connections of every listener with another certificate.
   *
   * @param certificate The new pair (checked by the caller).
   * @throws {Error} When a listener cannot bind with it; the old one stays in use.
   */
  reloadCertificate(certificate: TlsCertificate): void;
}

/**
 * The `deno` engine, with TLS where configured: listeners terminate TLS with `certificate`,
 * connects upgrade to TLS (`upstream`), with SNI = `upstream.sni` or the host connected to;
 * the handshake completes inside `connect()`, so a bad certificate is a connect failure.
 *
 * @param options Certificate, ALPN and upstream settings.
 * @returns The engine.
 * @example
 * ```ts
 * const engine = createTlsEngine({ certificate: { cert, key } });
 * const server = new TcpServer({ listen: "127.0.0.1:0", handler, engine });
 * ```
 */
export function createTlsEngine(options: TlsEngineOptions): TlsEngine {
  const listeners = new Set<ReloadableTlsListener>();
  const { certificate, upstream } = options;
  return {
    ...DENO_ENGINE,
    listen(listenOptions) {
      if (certificate === undefined) return DENO_ENGINE.listen(listenOptions);
      const listener = new ReloadableTlsListener({
        hostname: listenOptions.hostname,
        port: listenOptions.port,
        certificate,
        alpn: options.alpn ?? [],
      });
      listeners.add(listener);
      const close = listener.close.bind(listener);
      listener.close = () => {
        listeners.delete(listener);
        close();
      };
      return listener;
    },
    async connect(connectOptions) {
      if (upstream === undefined) return DENO_ENGINE.connect(connectOptions);
      const serverName = upstream.sni ?? connectOptions.hostname;
      if (upstream.insecure) return connectInsecureTls(connectOptions, serverName);
      const tcp = await DENO_ENGINE.connect(connectOptions) as Deno.TcpConn;
      tcp.setNoDelay(true);
      const startOptions: Deno.StartTlsOptions = { hostname: serverName };
      if (upstream.caCerts.length > 0) startOptions.caCerts = upstream.caCerts;
      const tls = await Deno.startTls(tcp, startOptions);
      try {
        await raceSignal(tls.handshake(), connectOptions.signal);
      } catch (error) {
        tls.close();
        throw error;
      }
      return tls;
    },
    reloadCertificate(next) {
      for (const listener of listeners) listener.reload(next);
    },
  };
}

/** Settle with `promise`, or reject when `signal` aborts first. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
