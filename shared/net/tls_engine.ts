/**
 * The `deno` engine with TLS: a listener that terminates TLS and can swap its certificate
 * without dropping live connections, and connects that originate TLS (verified by default).
 *
 * @module
 */

import { createSecureContext, type SecureContext } from "node:tls";
import { DENO_ENGINE, type Engine, type NetConn, type NetListener } from "./engine.ts";
import type { TlsCertificate, UpstreamTlsSettings } from "./tls.ts";
import { connectInsecureTls } from "./_insecure_tls.ts";
import { ServerTlsConn } from "./tls_upgrade.ts";

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
  /** Other listeners (workers) share the port already: skip the exclusive-bind check. */
  reusePort?: boolean;
}

/**
 * How long the previous socket keeps accepting after a certificate reload. Closing a listening
 * socket resets the connections waiting in its accept queue, and with SO_REUSEPORT the kernel
 * spreads new connections over both sockets; so the old one keeps being served until this
 * much later, when its queue is (almost always) empty. New connections may still get the old
 * certificate during this window.
 */
export const RELOAD_OVERLAP_MS = 250;

/**
 * A TLS listener whose certificate can be replaced: {@linkcode ReloadableTlsListener.reload}
 * binds a new socket on the same port (SO_REUSEPORT), keeps accepting on the old one for
 * {@linkcode RELOAD_OVERLAP_MS}, then closes it; live connections are untouched.
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
  #retiring = new Map<
    Deno.TlsListener,
    { timer: ReturnType<typeof setTimeout>; retired: PromiseWithResolvers<void> }
  >();
  #pumps = new Map<Deno.TlsListener, Promise<void>>();
  #alpn: string[];
  #closed = false;
  #ready: NetConn[] = [];
  #waiters: PromiseWithResolvers<NetConn>[] = [];

  /**
   * Bind.
   *
   * @param options Address, certificate and ALPN.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   */
  constructor(options: TlsListenerOptions) {
    this.#alpn = options.alpn ?? [];
    if (options.port !== 0 && options.reusePort !== true) {
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
    const listener = Deno.listenTls(options);
    this.#pumps.set(listener, this.#pump(listener));
    return listener;
  }

  /** Accept on one socket until it closes, handing connections to `accept()` callers. */
  async #pump(listener: Deno.TlsListener): Promise<void> {
    for (;;) {
      let conn: NetConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (listener === this.#current && !this.#closed) this.#fail(error);
        return;
      }
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(conn);
      else this.#ready.push(conn);
    }
  }

  #fail(error: unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  /**
   * Serve new connections with another certificate; live connections keep theirs.
   *
   * @param certificate The new certificate and key (checked by the caller).
   * @returns Resolves once the old socket is closed: from then on every new connection gets
   *   the new certificate.
   * @throws {Error} When Deno refuses the pair; the old certificate stays in use then.
   */
  reload(certificate: TlsCertificate): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const next = this.#listen(this.addr.hostname, this.addr.port, certificate);
    const old = this.#current;
    this.#current = next;
    const retired = Promise.withResolvers<void>();
    this.#retiring.set(old, {
      timer: setTimeout(() => {
        this.#retiring.delete(old);
        safeCloseListener(old);
        // The socket leaves the port's group only once its pending accept is cancelled.
        void this.#pumps.get(old)?.then(() => {
          this.#pumps.delete(old);
          retired.resolve();
        });
      }, RELOAD_OVERLAP_MS),
      retired,
    });
    return retired.promise;
  }

  /**
   * Wait for the next connection (the TLS handshake happens on first use, or
   * {@linkcode completeHandshake}).
   *
   * @returns The connection.
   * @throws {Deno.errors.BadResource} Once closed.
   */
  accept(): Promise<NetConn> {
    const ready = this.#ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("listener closed"));
    const waiter = Promise.withResolvers<NetConn>();
    this.#waiters.push(waiter);
    return waiter.promise;
  }

  /** Stop listening (connections accepted but not yet taken are closed). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    safeCloseListener(this.#current);
    for (const [listener, { timer, retired }] of this.#retiring) {
      clearTimeout(timer);
      safeCloseListener(listener);
      retired.resolve();
    }
    this.#retiring.clear();
    for (const conn of this.#ready.splice(0)) safeCloseListener(conn);
    this.#fail(new Deno.errors.BadResource("listener closed"));
  }
}

function safeCloseListener(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // Closed already.
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
  /**
   * Listeners accept plain TCP and TLS starts later, through {@linkcode TlsEngine.upgrade}
   * (after a PROXY header read in clear, like HAProxy's `accept-proxy ssl`). @default false
   */
  handshakeAfterPreamble?: boolean;
}

/** Start server-side TLS on an accepted connection; `early` holds bytes already read from it. */
export type TlsUpgrade = (conn: NetConn, early: Uint8Array) => NetConn;

/** The `deno` engine with TLS listeners and/or TLS connects. */
export interface TlsEngine extends Engine {
  /**
   * Serve new connections of every listener with another certificate.
   *
   * @param certificate The new pair (checked by the caller).
   * @returns Resolves once every new connection gets the new certificate.
   * @throws {Error} When a listener cannot bind with it; the old one stays in use.
   */
  reloadCertificate(certificate: TlsCertificate): Promise<void>;
  /**
   * With `handshakeAfterPreamble`: run the server handshake on an accepted plain connection
   * (the result has `handshake()`, see {@linkcode completeHandshake}); otherwise undefined.
   */
  readonly upgrade: TlsUpgrade | undefined;
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
  const alpn = options.alpn ?? [];
  let context: SecureContext | undefined = certificate && options.handshakeAfterPreamble
    ? createSecureContext(certificate)
    : undefined;
  return {
    ...DENO_ENGINE,
    upgrade: context === undefined
      ? undefined
      : (conn, early) => new ServerTlsConn(conn, { secureContext: context!, alpn, early }),
    listen(listenOptions) {
      if (certificate === undefined || context !== undefined) {
        return DENO_ENGINE.listen(listenOptions);
      }
      const listener = new ReloadableTlsListener({
        hostname: listenOptions.hostname,
        port: listenOptions.port,
        certificate,
        alpn,
        reusePort: listenOptions.reusePort ?? false,
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
    async reloadCertificate(next) {
      if (context !== undefined) context = createSecureContext(next);
      await Promise.all([...listeners].map((listener) => listener.reload(next)));
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
