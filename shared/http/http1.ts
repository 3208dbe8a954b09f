/**
 * A small HTTP/1.1 server over an engine's sockets: how the epoll engine serves the HTTP
 * endpoint on its own loop. `Deno.serve` only makes progress when the epoll loop yields to
 * Deno's event loop (every few ms under load), so under 500-connection ping-pong a scrape
 * waited 1-50 ms for those yields, once per step (accept, read, answer); here every step runs
 * in the loop's next turn like any other socket's.
 *
 * What it serves is what the endpoint needs: keep-alive and pipelining, Content-Length
 * request bodies (up to {@linkcode MAX_BODY_BYTES}), `Expect: 100-continue`, HEAD, and
 * event streams (chunked, ended by shutdown). Bad heads get one status line and a close.
 *
 * @module
 */

import { closeDashboardStreams } from "./dashboard/mount.ts";
import { honoOf } from "./_hono.ts";
import type { HttpApp, HttpEndpoint } from "./app.ts";
import {
  headEnd,
  type HeadError,
  MAX_HEAD_BYTES,
  parseRequestHead,
  type RequestHead,
} from "./http1_head.ts";
import { concatBytes } from "../net/bytes.ts";
import { writeAll } from "../net/client_hello.ts";
import type { Engine, NetConn } from "../net/engine.ts";
import { safeClose } from "../net/relay.ts";
import { TcpServer } from "../net/server.ts";

export { MAX_BODY_BYTES, MAX_HEAD_BYTES } from "./http1_head.ts";

/** An idle keep-alive connection, or one sending its head this slowly, is closed after this. */
export const KEEP_ALIVE_TIMEOUT_MS = 75_000;
/** How long a refused client may keep sending after the error answer before it is closed. */
const LINGER_MS = 5_000;
/** How long shutdown waits for requests in flight before closing their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

type Fetch = (request: Request) => Response | Promise<Response>;

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  411: "Length Required",
  413: "Content Too Large",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};
/** Response headers this server writes itself. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);
const encoder = new TextEncoder();

/**
 * Serve an app over HTTP/1.1 on an engine's listener (port 0 picks a free port).
 *
 * @param app The app.
 * @param addr `host:port` to listen on.
 * @param engine The engine whose sockets carry it (the epoll engine's run on its loop).
 * @returns The bound address and a `shutdown()` that ends event streams, closes idle
 *   connections and waits for requests in flight.
 * @throws {Deno.errors.AddrInUse} When the address is taken.
 * @example
 * ```ts
 * const endpoint = serveHttp1(app, "127.0.0.1:0", resolveEngine("auto"));
 * await endpoint.shutdown();
 * ```
 */
export function serveHttp1(app: HttpApp, addr: string, engine: Engine): HttpEndpoint {
  const fetch = honoOf(app).fetch;
  const stop = new AbortController();
  const server = new TcpServer({
    listen: addr,
    engine,
    handler: (conn, force) => serveConn(conn, fetch, stop.signal, force),
  });
  return {
    addr: server.addr,
    async shutdown() {
      closeDashboardStreams(app);
      stop.abort();
      await server.shutdown(SHUTDOWN_GRACE_MS);
    },
  };
}

/** Requests of one connection, in order, until either side ends it. */
async function serveConn(
  conn: NetConn,
  fetch: Fetch,
  stop: AbortSignal,
  force: AbortSignal,
): Promise<void> {
  const input = new Input(conn);
  // Idle (between requests) the connection closes at once on shutdown; busy it finishes.
  let idle = true;
  const close = () => safeClose(conn);
  const closeIfIdle = () => idle && close();
  stop.addEventListener("abort", closeIfIdle);
  force.addEventListener("abort", close);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (!stop.aborted) {
      idle = true;
      timer = setTimeout(close, KEEP_ALIVE_TIMEOUT_MS);
      const head = await input.head();
      clearTimeout(timer);
      idle = false;
      if (head === null) break;
      const next = await exchange(conn, input, head, fetch, stop);
      if (typeof next !== "boolean") {
        // An event stream lasts: copied at the loop's own pace, not hurried.
        await stream(conn, next.body, next.chunked, stop);
        break;
      }
      if (!next) break;
    }
  } catch {
    // The peer reset or vanished, or shutdown closed the socket: nothing left to answer.
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", closeIfIdle);
    force.removeEventListener("abort", close);
    close();
  }
}

/** An event stream to copy after its head was written. */
interface EventStream {
  /** The response body. */
  body: ReadableStream<Uint8Array>;
  /** Whether to frame it in chunks (HTTP/1.1). */
  chunked: boolean;
}

/**
 * Answer one parsed head (or refuse it); resolves to whether the connection stays open, or
 * to the event stream to copy next.
 */
async function exchange(
  conn: NetConn,
  input: Input,
  head: RequestHead | HeadError,
  fetch: Fetch,
  stop: AbortSignal,
): Promise<boolean | EventStream> {
  if ("status" in head) return await refuse(conn, head.status, head.error);
  if (head.expectContinue && head.contentLength > 0) {
    await writeAll(conn, encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  const body = await input.take(head.contentLength);
  if (body === null) return false;
  let request: Request;
  try {
    const withBody = body.length > 0 && head.method !== "GET" && head.method !== "HEAD";
    request = new Request(urlOf(head, conn.localAddr as Deno.NetAddr), {
      method: head.method,
      headers: head.headers,
      body: withBody ? body as Uint8Array<ArrayBuffer> : null,
    });
  } catch {
    return await refuse(conn, 400, "request target is not a valid URL");
  }
  let response: Response;
  try {
    response = await fetch(request);
  } catch {
    response = new Response("internal error\n", { status: 500 });
  }
  return await respond(conn, head, response, head.keepAlive && !stop.aborted);
}

/** The request's URL: an absolute target as is, else from the Host header (or our address). */
function urlOf(head: RequestHead, local: Deno.NetAddr): string {
  if (/^https?:\/\//i.test(head.target)) return head.target;
  const host = head.headers.get("host") ||
    `${local.hostname.includes(":") ? `[${local.hostname}]` : local.hostname}:${local.port}`;
  return `http://${host}${head.target}`;
}

/**
 * Write one response; resolves to whether the connection may carry another request. Of an
 * event stream only the head is written (its body is returned, to go out chunked as it comes,
 * ending the connection after); every other body is read whole and sent with its
 * Content-Length in one write.
 */
async function respond(
  conn: NetConn,
  head: RequestHead,
  response: Response,
  keepAlive: boolean,
): Promise<boolean | EventStream> {
  const status = response.status;
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? response.statusText}`];
  let dated = false;
  for (const [name, value] of response.headers) {
    if (HOP_BY_HOP.has(name) || name === "set-cookie") continue;
    dated ||= name === "date";
    lines.push(`${name}: ${value}`);
  }
  for (const cookie of response.headers.getSetCookie()) lines.push(`set-cookie: ${cookie}`);
  if (!dated) lines.push(`date: ${new Date().toUTCString()}`);
  const noBody = head.method === "HEAD" || status === 204 || status === 304;
  const type = response.headers.get("content-type") ?? "";
  if (!noBody && response.body !== null && type.startsWith("text/event-stream")) {
    const chunked = head.version === "HTTP/1.1";
    if (chunked) lines.push("transfer-encoding: chunked");
    lines.push("connection: close");
    await writeAll(conn, encoder.encode(`${lines.join("\r\n")}\r\n\r\n`));
    return { body: response.body, chunked };
  }
  let body = new Uint8Array(0);
  if (noBody) {
    await response.body?.cancel();
    const length = response.headers.get("content-length");
    if (head.method === "HEAD" && length !== null) lines.push(`content-length: ${length}`);
  } else {
    if (response.body !== null) body = new Uint8Array(await response.arrayBuffer());
    lines.push(`content-length: ${body.length}`);
  }
  if (!keepAlive) lines.push("connection: close");
  else if (head.version === "HTTP/1.0") lines.push("connection: keep-alive");
  await writeAll(conn, concatBytes(encoder.encode(`${lines.join("\r\n")}\r\n\r\n`), body));
  return keepAlive;
}

/**
 * Copy an event stream to the connection until it ends, the client goes (a read that
 * returns end of input or fails, or a failed write) or shutdown begins, then cancel it: the
 * producer's abort handlers run, and a stream ended by shutdown gets its last chunk.
 */
async function stream(
  conn: NetConn,
  body: ReadableStream<Uint8Array>,
  chunked: boolean,
  stop: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  // A client that hangs up is seen by a read (a write would only fail on the next event).
  conn.read(new Uint8Array(512)).then(cancel, cancel);
  stop.addEventListener("abort", cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.length === 0) continue;
      await writeAll(
        conn,
        chunked
          ? concatBytes(encoder.encode(`${value.length.toString(16)}\r\n`), value, CRLF)
          : value,
      );
    }
    if (chunked) await writeAll(conn, encoder.encode("0\r\n\r\n"));
  } finally {
    stop.removeEventListener("abort", cancel);
    await reader.cancel().catch(() => {});
  }
}

const CRLF = encoder.encode("\r\n");

/**
 * Answer with a short error and end the connection. The client may still be sending (a head
 * over the limit): a close with unread bytes resets the connection and can destroy the answer
 * in flight, so send our FIN and read (discarding) until the client closes, for at most
 * {@linkcode LINGER_MS}, as nginx's lingering close does.
 */
async function refuse(conn: NetConn, status: number, error: string): Promise<false> {
  await writeAll(conn, simple(status, error));
  await conn.closeWrite();
  const scratch = new Uint8Array(16 * 1024);
  const timer = setTimeout(() => safeClose(conn), LINGER_MS);
  try {
    while (await conn.read(scratch) !== null) { /* discard */ }
  } catch {
    // Closed by the timer, or reset by the client.
  } finally {
    clearTimeout(timer);
  }
  return false;
}

/** A short error response that closes the connection. */
function simple(status: number, error: string): Uint8Array {
  const body = encoder.encode(`${error}\n`);
  return concatBytes(
    encoder.encode(
      `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
    ),
    body,
  );
}

/** Buffered reading of heads and bodies from one connection. */
class Input {
  #conn: NetConn;
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;

  constructor(conn: NetConn) {
    this.#conn = conn;
  }

  /** The next request head: null when the client closed between requests. */
  async head(): Promise<RequestHead | HeadError | null> {
    let scanned = this.#start;
    for (;;) {
      const end = headEnd(this.#buf.subarray(0, this.#end), this.#end, scanned);
      if (end >= 0) {
        const head = parseRequestHead(this.#buf.subarray(this.#start, end));
        this.#start = end;
        return head;
      }
      if (this.#end - this.#start >= MAX_HEAD_BYTES) {
        return { status: 431, error: `request head over ${MAX_HEAD_BYTES} bytes` };
      }
      scanned = Math.max(this.#start, this.#end - 3);
      const before = this.#start;
      if (!await this.#fill()) {
        if (this.#end === this.#start) return null;
        return { status: 400, error: "connection closed inside a request head" };
      }
      scanned -= before - this.#start;
    }
  }

  /** The next `n` bytes (a body), or null when the client closed first. */
  async take(n: number): Promise<Uint8Array | null> {
    while (this.#end - this.#start < n) {
      if (!await this.#fill(n)) return null;
    }
    const bytes = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return bytes;
  }

  /** Read more, compacting or growing the buffer first; false at end of input. */
  async #fill(want = 0): Promise<boolean> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const need = Math.max(want, this.#end + 1024);
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.#end));
      this.#buf = grown;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }
}
