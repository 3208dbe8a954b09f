/**
 * TLS test peers and clients on the checked-in test certificates
 * (`shared/net/testdata/`: a test CA, `localhost`, `a.test`, `b.test`, another CA).
 *
 * @module
 */

import { echoUntilEof, writeAll } from "./io.ts";

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
  const open = new Set<Deno.TlsConn>();
  const tasks = new Set<Promise<void>>();
  const loop = (async () => {
    for (;;) {
      let conn: Deno.TlsConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      open.add(conn);
      const task = (async () => {
        try {
          if (greeting !== undefined) await conn.write(new TextEncoder().encode(greeting));
          await echoUntilEof(conn);
        } catch {
          // The client went away mid-handshake or mid-echo.
        } finally {
          open.delete(conn);
          try {
            conn.close();
          } catch {
            // Closed already.
          }
        }
      })();
      tasks.add(task);
      void task.finally(() => tasks.delete(task));
    }
  })();
  const close = async () => {
    listener.close();
    await loop;
    for (const conn of open) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await Promise.allSettled([...tasks]);
  };
  return { addr: `127.0.0.1:${listener.addr.port}`, close, [Symbol.asyncDispose]: close };
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
