/**
 * Proxy test helpers: a proxy, an echo server and a 2-worker proxy for one test, each on
 * 127.0.0.1 port 0 with the endpoint off, logging into memory, and shut down by `await using`
 * (unless the test shut it down itself, to assert on the summary); and a test of a TLS proxy
 * whose certificate files it may swap.
 *
 * @module
 */

import { type EchoServer, startEcho } from "@monkey/echo";
import { type EngineName, Logger, type LogLevel, memorySink } from "@monkey/shared";
import { type CertFiles, certFiles, echoUntilEof, requires, startPeer } from "@monkey/testing";
import type { ProxyConfig } from "./config.ts";
import { type ProxyCluster, startProxyCluster } from "./cluster.ts";
import { type Proxy, startProxy } from "./proxy.ts";

/** Grace period the disposers give live connections. */
const DISPOSE_GRACE_MS = 1000;

/** A proxy for one test; `lines` holds what it logged. */
export type TestProxy = Proxy & AsyncDisposable & { readonly lines: string[] };

/**
 * Start a proxy (listening on 127.0.0.1 port 0, endpoint off) with `config` on top.
 *
 * @param config Keys over the test defaults (`target_addr` at least).
 * @param level The logger's level. @default "debug"
 * @returns The proxy; disposing of it shuts it down once (a second `shutdown()` is the first).
 * @example
 * ```ts
 * await using proxy = startTestProxy({ target_addr: echo.addr, engine });
 * ```
 */
export function startTestProxy(config: Partial<ProxyConfig>, level: LogLevel = "debug"): TestProxy {
  const { sink, lines } = memorySink();
  const proxy = startProxy(
    { listen_addr: "127.0.0.1:0", metrics_addr: "off", ...config },
    { logger: new Logger({ name: "proxy", sink, level }) },
  );
  return Object.assign(disposable(proxy), { lines });
}

/** An echo server for one test. */
export type TestEcho = EchoServer & AsyncDisposable;

/**
 * Start an echo server on 127.0.0.1 port 0 (or `listen`), endpoint off.
 *
 * @param engine Its engine.
 * @param listen Its listen address. @default "127.0.0.1:0"
 * @returns The server; disposing of it shuts it down once.
 * @example
 * ```ts
 * await using echo = startTestEcho(engine);
 * ```
 */
export function startTestEcho(engine: EngineName, listen = "127.0.0.1:0"): TestEcho {
  return disposable(startEcho({ listen_addr: listen, metrics_addr: "off", engine }));
}

/** A 2-worker proxy for one test; `lines` holds what the main thread logged. */
export type TestCluster = ProxyCluster & AsyncDisposable & { readonly lines: string[] };

/**
 * Start a proxy with 2 workers (127.0.0.1 port 0, endpoint off, workers logging errors only).
 *
 * @param config Keys over the test defaults (`target_addr` at least).
 * @returns The cluster; disposing of it shuts it down.
 * @example
 * ```ts
 * await using cluster = await startTestCluster({ target_addr: echo.addr });
 * ```
 */
export async function startTestCluster(config: Partial<ProxyConfig>): Promise<TestCluster> {
  const { sink, lines } = memorySink();
  const cluster = await startProxyCluster({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    workers: 2,
    log_level: "error", // the workers log to the console
    ...config,
  }, { logger: new Logger({ sink }) });
  return Object.assign(disposable(cluster), { lines });
}

/** What {@linkcode testWithCertFiles} hands its test. */
export interface CertFilesTest {
  /** An echo peer to proxy to. */
  readonly target: string;
  /** Certificate files (`a.test` at first) the test may swap. */
  readonly files: CertFiles;
  /** The config keys naming `files`. */
  readonly tls: Pick<ProxyConfig, "tls_cert" | "tls_key">;
}

/**
 * A test (allowed to read and write files) of a proxy that terminates TLS with certificate
 * files it may swap, in front of an echo peer.
 *
 * @param name The test's name.
 * @param fn The test.
 * @example
 * ```ts
 * testWithCertFiles("reload", async ({ target, tls }) => {
 *   await using proxy = startTestProxy({ target_addr: target, ...tls });
 * });
 * ```
 */
export function testWithCertFiles(name: string, fn: (t: CertFilesTest) => Promise<void>): void {
  Deno.test({
    name,
    permissions: { read: true, write: true, net: true },
    ...requires("read", "write"),
    async fn() {
      await using echo = startPeer((conn) => echoUntilEof(conn));
      using files = certFiles("a.test");
      await fn({ target: echo.addr, files, tls: { tls_cert: files.cert, tls_key: files.key } });
    },
  });
}

/**
 * Make `handle.shutdown()` run once (a second call returns the first one's promise) and
 * `await using` call it with a short grace period unless the test did.
 */
function disposable<T extends { shutdown(graceMs?: number): Promise<unknown> }>(
  handle: T,
): T & AsyncDisposable {
  const stop = handle.shutdown.bind(handle);
  let stopped: ReturnType<T["shutdown"]> | undefined;
  const shutdown = (graceMs?: number) => (stopped ??= stop(graceMs) as ReturnType<T["shutdown"]>);
  return Object.assign(handle, {
    shutdown,
    [Symbol.asyncDispose]: async () => void await shutdown(DISPOSE_GRACE_MS),
  });
}
