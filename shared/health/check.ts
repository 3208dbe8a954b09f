/**
 * One active health check of a TCP address: connect, optionally send the PROXY protocol LOCAL
 * header, optionally send a probe and expect a reply. The LB checks its backends with it and
 * the proxy its target.
 *
 * @module
 */

import { ConnectError, connectTcp } from "../net/connect.ts";
import type { NetConn } from "../net/engine.ts";
import { encodeProxyLocal, type ProxyProtocolMode } from "../net/proxy_protocol.ts";
import { safeClose } from "../net/relay.ts";

/** Options for {@linkcode checkOnce}. */
export interface CheckOptions {
  /** Whole check deadline in ms. */
  timeoutMs: number;
  /** Written after connecting. */
  send?: string | undefined;
  /** The reply must contain this. */
  expect?: string | undefined;
  /** Send a PROXY protocol LOCAL header first, on every check kind. @default "off" */
  proxyProtocol?: ProxyProtocolMode;
  /** Abort the check (checker stopping). */
  signal?: AbortSignal;
}

/** What one check found. */
export interface CheckOutcome {
  /** Passed. */
  ok: boolean;
  /** `ok`, or why it failed. */
  result: string;
  /** Time to connect in ms (undefined when the connect failed). */
  connectMs: number | undefined;
  /** Time for the whole check in ms. */
  totalMs: number;
}

const MAX_EXPECT_BYTES = 64 * 1024;

/**
 * Connect to `addr`; when `send` is set write it; when `expect` is set read until the reply
 * contains it. Everything within `timeoutMs`.
 *
 * @param addr Backend `host:port`.
 * @param options Deadline, send/expect and abort signal.
 * @returns The outcome; it never rejects.
 * @example
 * ```ts
 * const outcome = await checkOnce("127.0.0.1:6379", { timeoutMs: 1000, send: "PING\r\n", expect: "+PONG" });
 * ```
 */
export async function checkOnce(addr: string, options: CheckOptions): Promise<CheckOutcome> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let conn: NetConn;
  try {
    conn = await connectTcp(addr, { timeoutMs: options.timeoutMs, signal });
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    const why = error.kind === "aborted" && deadline.aborted ? "timeout" : error.kind;
    return { ok: false, result: why, connectMs: undefined, totalMs: elapsed() };
  }
  const connectMs = elapsed();
  const onAbort = () => safeClose(conn);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const mode = options.proxyProtocol ?? "off";
    // Every check kind sends the header: a backend that requires one (nginx `proxy_protocol`,
    // HAProxy `accept-proxy`) logs a broken header for each bare connect otherwise.
    if (mode !== "off") await writeAll(conn, encodeProxyLocal(mode));
    if (options.send !== undefined && options.send !== "") {
      await writeAll(conn, new TextEncoder().encode(options.send));
    }
    if (options.expect !== undefined && options.expect !== "") {
      const found = await readUntil(conn, options.expect);
      if (!found) return { ok: false, result: "unexpected reply", connectMs, totalMs: elapsed() };
    }
    return { ok: true, result: "ok", connectMs, totalMs: elapsed() };
  } catch {
    const result = deadline.aborted ? "timeout" : "closed";
    return { ok: false, result, connectMs, totalMs: elapsed() };
  } finally {
    signal.removeEventListener("abort", onAbort);
    safeClose(conn);
  }
}

async function writeAll(conn: NetConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Read until the text seen so far contains `expect`; false at EOF or past 64 KiB. */
async function readUntil(conn: NetConn, expect: string): Promise<boolean> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(4096);
  let seen = "";
  while (seen.length < MAX_EXPECT_BYTES) {
    const n = await conn.read(buf);
    if (n === null) return false;
    seen += decoder.decode(buf.subarray(0, n), { stream: true });
    if (seen.includes(expect)) return true;
  }
  return false;
}
