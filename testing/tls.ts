/**
 * TLS test peers and clients on the checked-in test certificates
 * (`shared/net/testdata/`: a test CA, `localhost`, `a.test`, `b.test`, another CA).
 *
 * @module
 */

import assert from "node:assert/strict";
import { echoUntilEof, readExactly, writeAll } from "./io.ts";
import { serveListeners } from "./peers.ts";
import { runTool } from "./process.ts";

/** The folder of the test certificates (regenerate with its `gen.sh`). */
export const TLS_TESTDATA: string =
  new URL("./net/testdata/", import.meta.resolve("@monkey/shared")).pathname;

/**
 * Paths of a test certificate and its key.
 *
 * @param name `localhost`, `a.test` or `b.test`.
 * @returns `{ cert, key }` file paths.
 * @example
 * ```ts
 * const { cert, key } = testCertPaths("a.test");
 * ```
 */
export function testCertPaths(name: string): { cert: string; key: string } {
  return { cert: `${TLS_TESTDATA}${name}.pem`, key: `${TLS_TESTDATA}${name}.key` };
}

/**
 * The config keys `tls_cert` and `tls_key` of a test certificate, for a service's config input.
 *
 * @param name `localhost`, `a.test` or `b.test`.
 * @returns `{ tls_cert, tls_key }` file paths.
 * @example
 * ```ts
 * const config = { listen_addr: "127.0.0.1:0", ...tlsFiles("localhost") };
 * ```
 */
export function tlsFiles(name: string): { tls_cert: string; tls_key: string } {
  const { cert, key } = testCertPaths(name);
  return { tls_cert: cert, tls_key: key };
}

/**
 * Talk to a TLS server with `openssl s_client`, sending `serverName` as SNI and verifying it
 * against the test CA; reads until `done` says so.
 *
 * @param addr `127.0.0.1:port`.
 * @param serverName SNI and the name verified.
 * @param done Called with the output so far; true stops reading.
 * @param input Written first. @default ""
 * @returns The output, or undefined when openssl is not installed.
 * @example
 * ```ts
 * const out = await opensslClient(proxy.addr, "localhost", (s) => s.includes("hi"), "hi\n");
 * ```
 */
export function opensslClient(
  addr: string,
  serverName: string,
  done: (out: string) => boolean,
  input = "",
): Promise<string | undefined> {
  const args = ["s_client", "-quiet", "-connect", addr, "-servername", serverName];
  args.push("-verify_return_error", "-CAfile", `${TLS_TESTDATA}ca.pem`);
  return runTool("openssl", args, done, input);
}

/** A TLS echo server; `tag` bytes are written first on each connection when given. */
export interface TlsEchoServer extends AsyncDisposable {
  /** `127.0.0.1:port`. */
  addr: string;
  /** Stop and close everything. */
  close(): Promise<void>;
}

/**
 * A loopback TLS echo server presenting the test certificate `name`.
 *
 * @param name The certificate (`localhost`, `a.test`, `b.test`).
 * @param greeting Written first on every connection (tells tests which server answered).
 * @returns The running server.
 * @example
 * ```ts
 * await using server = startTlsEcho("a.test", "A");
 * ```
 */
export function startTlsEcho(name: string, greeting?: string): TlsEchoServer {
  const { cert, key } = testCertPaths(name);
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: Deno.readTextFileSync(cert),
    key: Deno.readTextFileSync(key),
  });
  const loop = serveListeners([listener], async (conn) => {
    if (greeting !== undefined) await conn.write(new TextEncoder().encode(greeting));
    await echoUntilEof(conn);
  }, true);
  const close = () => loop.close();
  return { addr: loop.addr, close, [Symbol.asyncDispose]: close };
}

/** Options for {@linkcode tlsDial}. */
export interface TlsDialOptions {
  /** ALPN protocols to offer. @default [] */
  alpn?: string[];
  /** Bytes written in clear before the handshake (a PROXY protocol header). */
  preamble?: Uint8Array;
}

/**
 * Connect over TCP, optionally write a preamble in clear (a PROXY header, as HAProxy's
 * `send-proxy-v2` does), then start TLS sending `serverName` as SNI, trusting the test CA.
 *
 * @param addr `127.0.0.1:port`.
 * @param serverName SNI and the name verified.
 * @param options ALPN protocols and the clear-text preamble.
 * @returns The connection, handshake done.
 * @example
 * ```ts
 * const conn = await tlsDial(lb.addr, "a.test");
 * const proxied = await tlsDial(lb.addr, "a.test", { preamble: encodeProxyV2(src, dst) });
 * ```
 */
export async function tlsDial(
  addr: string,
  serverName: string,
  options: TlsDialOptions = {},
): Promise<Deno.TlsConn> {
  const port = Number(addr.slice(addr.lastIndexOf(":") + 1));
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const startOptions: Deno.StartTlsOptions = {
    hostname: serverName,
    caCerts: [Deno.readTextFileSync(`${TLS_TESTDATA}ca.pem`)],
  };
  const alpn = options.alpn ?? [];
  if (alpn.length > 0) startOptions.alpnProtocols = alpn;
  if (options.preamble !== undefined) {
    try {
      await writeAll(tcp, options.preamble);
    } catch (error) {
      tcp.close();
      throw error;
    }
  }
  const conn = await Deno.startTls(tcp, startOptions);
  try {
    await conn.handshake();
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}

/**
 * Read the greeting a {@linkcode startTlsEcho} server sends first, then assert that it echoes.
 *
 * @param conn A TLS connection to it (direct or through a proxy).
 * @param length The greeting's length. @default 1
 * @returns The greeting, e.g. `"A"`: which server answered.
 * @example
 * ```ts
 * assert.equal(await tlsGreeting(await tlsDial(lb.addr, "a.test")), "A");
 * ```
 */
export async function tlsGreeting(conn: Deno.TlsConn, length = 1): Promise<string> {
  const greeting = new TextDecoder().decode(await readExactly(conn, length));
  await writeAll(conn, new TextEncoder().encode("ping"));
  assert.equal(new TextDecoder().decode(await readExactly(conn, 4)), "ping", "echoes after");
  return greeting;
}

/**
 * Dial `addr` once per server name (SNI) and assert which {@linkcode startTlsEcho} server
 * greets each connection: how a test checks SNI routing.
 *
 * @param addr `127.0.0.1:port` of the router (load balancer, proxy hop).
 * @param cases `[server name, expected greeting]` pairs, dialled in order.
 * @example
 * ```ts
 * await assertGreetings(lb.addr, [["a.test", "A"], ["localhost", "D"]]);
 * ```
 */
export async function assertGreetings(
  addr: string,
  cases: readonly (readonly [string, string])[],
): Promise<void> {
  for (const [name, want] of cases) {
    const conn = await tlsDial(addr, name);
    try {
      assert.equal(await tlsGreeting(conn), want, name);
    } finally {
      conn.close();
    }
  }
}
