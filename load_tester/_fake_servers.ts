/**
 * In-process fake servers for protocol tests: they frame requests (RESP commands, HTTP
 * requests, lines), answer each through a function, and can write every reply one byte at a
 * time (so the client sees replies split at every byte).
 *
 * @module
 */

import { acceptLoop } from "@monkey/testing";
import type { TestServer } from "./_testing.ts";

/** Takes complete requests off the front of `buffer`; returns them and the rest. */
export type Framer = (buffer: string) => [string[], string];
/** The reply to request `n` of connection `conn` (latin1 text), or `null` to close. */
export type Responder = (request: string, n: number, conn: number) => string | null;

/** Options for {@linkcode fakeServer}. */
export interface FakeServerOptions {
  /** Write replies one byte per write. @default false */
  byteByByte?: boolean;
}

/**
 * A server answering framed requests.
 *
 * @param framer How requests are framed.
 * @param respond The reply to each.
 * @param options Byte-by-byte writes.
 * @returns The server.
 * @example
 * ```ts
 * const server = fakeServer(lines, () => "OK\n");
 * ```
 */
export function fakeServer(
  framer: Framer,
  respond: Responder,
  options: FakeServerOptions = {},
): TestServer {
  let conns = 0;
  const loop = acceptLoop(async (conn) => {
    const id = conns++;
    conn.setNoDelay(true);
    const buf = new Uint8Array(64 * 1024);
    let pending = "";
    let n = 0;
    for (;;) {
      const got = await conn.read(buf);
      if (got === null) return;
      pending += latin1(buf.subarray(0, got));
      const [requests, rest] = framer(pending);
      pending = rest;
      let out = "";
      for (const request of requests) {
        const reply = respond(request, n++, id);
        if (reply === null) {
          await write(conn, out, options.byteByByte ?? false);
          return;
        }
        out += reply;
      }
      await write(conn, out, options.byteByByte ?? false);
    }
  });
  return { addr: loop.addr, close: () => loop.close() };
}

async function write(conn: Deno.TcpConn, text: string, byteByByte: boolean): Promise<void> {
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  if (!byteByByte) {
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    return;
  }
  for (let i = 0; i < bytes.length; i++) await conn.write(bytes.subarray(i, i + 1));
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/**
 * Frames RESP commands (`*N` arrays of bulk strings); each request is the arguments joined by
 * spaces.
 *
 * @param buffer Received text.
 * @returns Commands and the rest.
 */
export function respCommands(buffer: string): [string[], string] {
  const out: string[] = [];
  let at = 0;
  outer: while (at < buffer.length) {
    const eol = buffer.indexOf("\r\n", at);
    if (eol < 0) break;
    const count = Number(buffer.slice(at + 1, eol));
    let p = eol + 2;
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const e = buffer.indexOf("\r\n", p);
      if (e < 0) break outer;
      const len = Number(buffer.slice(p + 1, e));
      if (e + 2 + len + 2 > buffer.length) break outer;
      args.push(buffer.slice(e + 2, e + 2 + len));
      p = e + 2 + len + 2;
    }
    out.push(args.join(" "));
    at = p;
  }
  return [out, buffer.slice(at)];
}

/**
 * Frames HTTP requests without bodies; each request is its request line.
 *
 * @param buffer Received text.
 * @returns Request lines and the rest.
 */
export function httpRequests(buffer: string): [string[], string] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    out.push(buffer.slice(at, buffer.indexOf("\r\n", at)));
    at = end + 4;
  }
  return [out, buffer.slice(at)];
}

/**
 * Frames lines (through `\n`).
 *
 * @param buffer Received text.
 * @returns Lines (without `\n`) and the rest.
 */
export function lines(buffer: string): [string[], string] {
  const parts = buffer.split("\n");
  const rest = parts.pop()!;
  return [parts, rest];
}

/**
 * An HTTP/1.1 response with a body.
 *
 * @param status Status code.
 * @param body Body text.
 * @param headers Extra header lines.
 * @returns The response text.
 */
export function httpResponse(status: number, body = "", headers: string[] = []): string {
  return `HTTP/1.1 ${status} X\r\nContent-Length: ${body.length}\r\n${
    headers.map((h) => h + "\r\n").join("")
  }\r\n${body}`;
}
