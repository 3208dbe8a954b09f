/**
 * Reading a TLS ClientHello without terminating TLS: a pure parser for the server name (SNI) and
 * the ALPN protocols, and a reader that buffers the first bytes of a connection through any
 * engine's `read()` until the ClientHello is complete (or clearly is not one).
 *
 * @module
 */

import type { NetConn } from "./engine.ts";

/** TLS record content type of handshake messages. */
const RECORD_HANDSHAKE = 0x16;
/** Handshake message type of a ClientHello. */
const HANDSHAKE_CLIENT_HELLO = 0x01;
/** Extension numbers (RFC 6066, RFC 7301). */
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
/** SNI name type `host_name`. */
const SNI_HOST_NAME = 0x00;
/** Bytes of a record header: type, version, length. */
const RECORD_HEADER = 5;
/** Largest TLS plaintext record body (2^14) plus slack some stacks use (RFC 8446 5.1). */
const MAX_RECORD_BODY = 16_384 + 256;
/** Bytes of a handshake header: type, 24-bit length. */
const HANDSHAKE_HEADER = 4;
/** Bytes of client_version plus random. */
const VERSION_AND_RANDOM = 34;

/** Default cap on the bytes buffered while looking for the ClientHello. */
export const CLIENT_HELLO_MAX_BYTES = 16_384;

/** What {@linkcode parseClientHello} found. */
export type ClientHelloResult =
  | {
    /** A complete ClientHello. */
    kind: "hello";
    /** The server name, lower-cased; undefined when the client sent none. */
    sni: string | undefined;
    /** The ALPN protocols offered, in the client's order (empty when none). */
    alpn: string[];
    /** Bytes of the records that carried the ClientHello. */
    length: number;
  }
  | {
    /** More bytes are needed. */
    kind: "incomplete";
  }
  | {
    /** The first byte is not a TLS handshake record: the client speaks something else. */
    kind: "not_tls";
  }
  | {
    /** It looks like TLS but the ClientHello cannot be parsed. */
    kind: "malformed";
    /** What was wrong. */
    reason: string;
  };

/** Thrown inside the parser; turned into a `malformed` result. */
class Malformed extends Error {}

/** A bounds-checked cursor over bytes. */
class Cursor {
  #bytes: Uint8Array;
  #at: number;
  #end: number;

  constructor(bytes: Uint8Array, at = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#at = at;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#at;
  }

  #need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new Malformed(`${what} needs ${n} bytes, ${this.remaining} left`);
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#bytes[this.#at++]!;
  }

  u16(what: string): number {
    this.#need(2, what);
    const value = (this.#bytes[this.#at]! << 8) | this.#bytes[this.#at + 1]!;
    this.#at += 2;
    return value;
  }

  u24(what: string): number {
    this.#need(3, what);
    const b = this.#bytes;
    const value = (b[this.#at]! << 16) | (b[this.#at + 1]! << 8) | b[this.#at + 2]!;
    this.#at += 3;
    return value;
  }

  skip(n: number, what: string): void {
    this.#need(n, what);
    this.#at += n;
  }

  /** A sub-cursor over the next `n` bytes, which this one skips. */
  sub(n: number, what: string): Cursor {
    this.#need(n, what);
    const sub = new Cursor(this.#bytes, this.#at, this.#at + n);
    this.#at += n;
    return sub;
  }

  text(n: number, what: string): string {
    this.#need(n, what);
    const bytes = this.#bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return String.fromCharCode(...bytes);
  }
}

/**
 * Parse the start of a connection as a TLS ClientHello and pull out SNI and ALPN. Pure: it
 * never throws, and the same bytes give the same answer. A ClientHello split over several
 * records is reassembled.
 *
 * @param bytes The bytes received so far.
 * @returns `hello`, `incomplete` (read more), `not_tls` or `malformed`.
 * @example
 * ```ts
 * const result = parseClientHello(firstBytes);
 * if (result.kind === "hello") console.log(result.sni, result.alpn);
 * ```
 */
export function parseClientHello(bytes: Uint8Array): ClientHelloResult {
  if (bytes.length === 0) return { kind: "incomplete" };
  if (bytes[0] !== RECORD_HANDSHAKE) return { kind: "not_tls" };
  try {
    // Reassemble handshake bytes from consecutive handshake records.
    const fragments: Uint8Array[] = [];
    let handshakeBytes = 0;
    let at = 0;
    let needed: number | undefined;
    while (needed === undefined || handshakeBytes < needed) {
      if (bytes.length - at < RECORD_HEADER) return { kind: "incomplete" };
      if (bytes[at] !== RECORD_HANDSHAKE) {
        throw new Malformed(`record at byte ${at} has type ${bytes[at]}, expected handshake (22)`);
      }
      if (bytes[at + 1] !== 3) {
        throw new Malformed(`record version ${bytes[at + 1]}.${bytes[at + 2]} is not TLS (3.x)`);
      }
      const length = (bytes[at + 3]! << 8) | bytes[at + 4]!;
      if (length === 0 || length > MAX_RECORD_BODY) {
        throw new Malformed(`record length ${length} is out of range 1-${MAX_RECORD_BODY}`);
      }
      if (bytes.length - at - RECORD_HEADER < length) return { kind: "incomplete" };
      fragments.push(bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
      handshakeBytes += length;
      at += RECORD_HEADER + length;
      if (needed === undefined && handshakeBytes >= HANDSHAKE_HEADER) {
        const head = concat(fragments, HANDSHAKE_HEADER);
        if (head[0] !== HANDSHAKE_CLIENT_HELLO) {
          throw new Malformed(`handshake type ${head[0]} is not a ClientHello (1)`);
        }
        needed = HANDSHAKE_HEADER + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
      }
    }
    const handshake = concat(fragments, needed);
    return { kind: "hello", ...readHello(new Cursor(handshake)), length: at };
  } catch (error) {
    if (error instanceof Malformed) return { kind: "malformed", reason: error.message };
    throw error;
  }
}

function concat(fragments: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const fragment of fragments) {
    if (at >= length) break;
    const part = fragment.subarray(0, length - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function readHello(c: Cursor): { sni: string | undefined; alpn: string[] } {
  c.skip(1, "handshake type");
  const body = c.sub(c.u24("handshake length"), "ClientHello");
  body.skip(VERSION_AND_RANDOM, "version and random");
  body.skip(body.u8("session id length"), "session id");
  const suites = body.u16("cipher suites length");
  if (suites === 0 || suites % 2 !== 0) {
    throw new Malformed(`cipher suites length ${suites} is not a positive even number`);
  }
  body.skip(suites, "cipher suites");
  const compression = body.u8("compression methods length");
  if (compression === 0) throw new Malformed("no compression methods");
  body.skip(compression, "compression methods");
  let sni: string | undefined;
  const alpn: string[] = [];
  if (body.remaining === 0) return { sni, alpn }; // no extensions at all
  const extensions = body.sub(body.u16("extensions length"), "extensions");
  if (body.remaining !== 0) throw new Malformed(`${body.remaining} bytes after the extensions`);
  const seen = new Set<number>();
  while (extensions.remaining > 0) {
    const type = extensions.u16("extension type");
    const data = extensions.sub(extensions.u16("extension length"), `extension ${type}`);
    if (seen.has(type)) throw new Malformed(`extension ${type} appears twice`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) sni = readServerName(data);
    else if (type === EXT_ALPN) alpn.push(...readAlpn(data));
  }
  return { sni, alpn };
}

/** Characters a DNS host name may hold (LDH, dots); SNI carries no IP literals (RFC 6066 3). */
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]{0,62})?(\.[a-z0-9_]([a-z0-9_-]{0,62})?)*\.?$/;

function readServerName(data: Cursor): string | undefined {
  if (data.remaining === 0) return undefined; // a server's empty echo; clients never send it
  const list = data.sub(data.u16("server name list length"), "server name list");
  if (data.remaining !== 0) throw new Malformed("bytes after the server name list");
  let name: string | undefined;
  while (list.remaining > 0) {
    const type = list.u8("server name type");
    const text = list.text(list.u16("server name length"), "server name");
    if (type !== SNI_HOST_NAME || name !== undefined) continue;
    const lower = text.toLowerCase();
    if (lower.length === 0 || lower.length > 253 || !HOST_NAME.test(lower)) {
      throw new Malformed(`server name ${JSON.stringify(text)} is not a host name`);
    }
    name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  }
  return name;
}

function readAlpn(data: Cursor): string[] {
  const list = data.sub(data.u16("ALPN list length"), "ALPN list");
  if (data.remaining !== 0) throw new Malformed("bytes after the ALPN list");
  const protocols: string[] = [];
  while (list.remaining > 0) {
    const length = list.u8("ALPN protocol length");
    if (length === 0) throw new Malformed("empty ALPN protocol name");
    protocols.push(list.text(length, "ALPN protocol"));
  }
  if (protocols.length === 0) throw new Malformed("empty ALPN list");
  return protocols;
}

/** Options for {@linkcode readClientHello}. */
export interface ReadClientHelloOptions {
  /** Stop (and report `malformed`) after this many bytes. @default 16384 */
  maxBytes?: number;
  /** Give up after this many ms (`timeout`). @default 5000 */
  timeoutMs?: number;
  /** Aborting ends the wait (`timeout`). */
  signal?: AbortSignal;
  /**
   * Client bytes read already (past a PROXY protocol header): parsed first, and the start of
   * `buffered`. @default none
   */
  prefix?: Uint8Array;
}

/** What {@linkcode readClientHello} read. */
export interface ClientHelloRead {
  /**
   * The parse result, or `timeout` (nothing decisive within the time) or `eof` (the client
   * closed first).
   */
  result: ClientHelloResult | { kind: "timeout" } | { kind: "eof" };
  /** Every byte read so far: send these upstream before relaying. */
  buffered: Uint8Array;
}

/** Default time to wait for the ClientHello, in ms (`inspect_timeout_ms`). */
export const INSPECT_TIMEOUT_MS = 5000;
/** First read size. */
const FIRST_READ = 2048;

/**
 * Read from `conn` until its first bytes are a complete ClientHello, clearly not TLS, malformed,
 * over `maxBytes`, or the time is up. Reads through the conn's own `read()`, so it works on
 * every engine. On a timeout the pending read is left to the caller, who closes the conn.
 * Bytes the caller read already (`prefix`) count as the first ones read.
 *
 * @param conn The client connection (not closed here).
 * @param options Byte cap, timeout and abort signal.
 * @returns The result and the bytes read.
 * @throws {Error} Only what `conn.read()` throws (a reset): the caller treats it as a closed client.
 * @example
 * ```ts
 * const { result, buffered } = await readClientHello(client, { timeoutMs: 5000 });
 * if (result.kind === "hello") await writeAll(upstream, buffered);
 * ```
 */
export async function readClientHello(
  conn: NetConn,
  options: ReadClientHelloOptions = {},
): Promise<ClientHelloRead> {
  const maxBytes = options.maxBytes ?? CLIENT_HELLO_MAX_BYTES;
  const prefix = options.prefix ?? new Uint8Array(0);
  let buffer = new Uint8Array(Math.max(Math.min(FIRST_READ, maxBytes), prefix.length));
  buffer.set(prefix);
  let filled = prefix.length;
  if (filled > 0) {
    const result = filled > maxBytes
      ? { kind: "malformed" as const, reason: `ClientHello larger than ${maxBytes} bytes` }
      : parseClientHello(buffer.subarray(0, filled));
    if (result.kind !== "incomplete") return { result, buffered: buffer.subarray(0, filled) };
  }
  const timeout = AbortSignal.timeout(options.timeoutMs ?? INSPECT_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const stopped = new Promise<"stop">((resolve) => {
    if (signal.aborted) resolve("stop");
    signal.addEventListener("abort", () => resolve("stop"), { once: true });
  });
  for (;;) {
    if (filled === buffer.length) {
      if (filled >= maxBytes) {
        return {
          result: { kind: "malformed", reason: `ClientHello larger than ${maxBytes} bytes` },
          buffered: buffer.subarray(0, filled),
        };
      }
      const grown = new Uint8Array(Math.min(buffer.length * 2, maxBytes));
      grown.set(buffer);
      buffer = grown;
    }
    const n = await Promise.race([conn.read(buffer.subarray(filled)), stopped]);
    if (n === "stop") return { result: { kind: "timeout" }, buffered: buffer.subarray(0, filled) };
    if (n === null) return { result: { kind: "eof" }, buffered: buffer.subarray(0, filled) };
    filled += n;
    const result = parseClientHello(buffer.subarray(0, filled));
    if (result.kind !== "incomplete") return { result, buffered: buffer.subarray(0, filled) };
  }
}

/**
 * Write every byte of `bytes` to `conn` (a `write()` may take only part).
 *
 * @param conn Where to write.
 * @param bytes What to write.
 * @returns Resolves once all bytes are written.
 * @throws {Error} What `conn.write()` throws.
 * @example
 * ```ts
 * await writeAll(upstream, buffered);
 * ```
 */
export async function writeAll(conn: NetConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
