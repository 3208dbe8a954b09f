/**
 * HTTP/1.1 with keep-alive: `METHOD PATH` requests (rotated, templates allowed in the path),
 * extra headers, an optional body; responses framed by `Content-Length` or chunked encoding,
 * judged by status (outside `--expect-status`: an error of kind `http_status`).
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import { LoadError } from "../errors.ts";
import { ByteBuffer, escapeSample, indexOfByte } from "./_buffer.ts";
import { type RenderContext, Template } from "./templates.ts";
import { type ProtocolClient, ReplyVerdict } from "./types.ts";

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const MAX_HEAD = 64 * 1024;
const CHUNKED = ascii("chunked");
const CLOSE = ascii("close");
const KEEP_ALIVE = ascii("keep-alive");
const CONTENT_LENGTH = ascii("content-length");
const TRANSFER_ENCODING = ascii("transfer-encoding");
const CONNECTION = ascii("connection");
const STATUS_CLASSES = 6;
/** The request when none is given. */
export const DEFAULT_HTTP_REQUEST = "GET /";
/** Statuses accepted when `--expect-status` is not given. */
export const DEFAULT_EXPECT_STATUS = "2xx,3xx";
const METHODS = /^(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|TRACE|CONNECT|[A-Z]+)$/;

interface Request {
  head: Template;
  fixed: Uint8Array | undefined;
  isHead: boolean;
}

/** What {@linkcode HttpClient} is built from. */
export interface HttpSettings {
  /** `METHOD PATH` requests (empty: `GET /`). */
  requests: readonly string[];
  /** `Name: value` headers. */
  headers: readonly string[];
  /** Request body. */
  body: Uint8Array | undefined;
  /** Accepted statuses, e.g. `2xx,3xx` or `200,404`. */
  expectStatus: string;
  /** The `Host` header. */
  host: string;
}

/**
 * Parse `--expect-status`: classes (`2xx`) and codes (`404`), comma separated.
 *
 * @param text The list.
 * @returns A table: index = status code, true when accepted.
 * @throws {ConfigError} On anything else.
 * @example
 * ```ts
 * parseExpectStatus("2xx,404")[404]; // true
 * ```
 */
export function parseExpectStatus(text: string): boolean[] {
  const ok = new Array<boolean>(1000).fill(false);
  for (const item of text.split(",").map((s) => s.trim())) {
    const klass = /^([1-5])xx$/i.exec(item);
    if (klass) {
      const base = Number(klass[1]) * 100;
      for (let s = base; s < base + 100; s++) ok[s] = true;
    } else if (/^[1-5]\d\d$/.test(item)) ok[Number(item)] = true;
    else {
      throw new ConfigError(
        `Cannot parse flag --expect-status: expected codes or classes like 2xx,3xx,404, got '${text}'`,
      );
    }
  }
  return ok;
}

/**
 * One connection's HTTP state.
 *
 * @example
 * ```ts
 * const client = new HttpClient({ requests: ["GET /"], headers: [], body: undefined,
 *   expectStatus: "2xx", host: "127.0.0.1:8080" });
 * ```
 */
export class HttpClient extends ReplyVerdict implements ProtocolClient {
  /** Requests in rotation order. */
  readonly mix: readonly string[];
  readonly #requests: Request[];
  readonly #ok: boolean[];
  readonly #tail: Uint8Array;
  #next = 0;

  /**
   * Compile the requests.
   *
   * @param settings Requests, headers, body, accepted statuses, host.
   * @throws {ConfigError} On a bad request line, header or template.
   */
  constructor(settings: HttpSettings) {
    super();
    const list = settings.requests.length > 0 ? settings.requests : [DEFAULT_HTTP_REQUEST];
    this.mix = list;
    this.#ok = parseExpectStatus(settings.expectStatus);
    let headers = "";
    const names = new Set<string>();
    for (const header of settings.headers) {
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(header);
      if (!m) {
        throw new ConfigError(
          `Cannot parse flag --header: expected 'Name: value', got '${header}'`,
        );
      }
      names.add(m[1]!.toLowerCase());
      headers += `${m[1]}: ${m[2]}\r\n`;
    }
    if (!names.has("host")) headers = `Host: ${settings.host}\r\n` + headers;
    if (!names.has("user-agent")) headers += "User-Agent: monkey-load-test\r\n";
    const body = settings.body;
    if (body !== undefined && !names.has("content-length")) {
      headers += `Content-Length: ${body.length}\r\n`;
    }
    const head = ascii(headers + "\r\n");
    this.#tail = body === undefined ? head : concat(head, body);
    this.#requests = list.map((line) => {
      const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(line);
      if (!m || !METHODS.test(m[1]!) || !m[2]!.startsWith("/")) {
        throw new ConfigError(
          `Cannot parse flag --request: expected 'METHOD /path' like 'GET /index.html', got '${line}'`,
        );
      }
      const start = Template.parse(`${m[1]} ${m[2]} HTTP/1.1\r\n`, "flag --request", false);
      const fixed = start.fixed !== undefined ? concat(start.fixed, this.#tail) : undefined;
      return { head: start, fixed, isHead: m[1] === "HEAD" };
    });
  }

  /** No first send in HTTP. */
  firstSend(): undefined {
    return undefined;
  }

  /** {@inheritDoc ProtocolClient.write} */
  write(out: ByteBuffer, ctx: RenderContext): number {
    const index = this.#next;
    this.#next = index + 1 === this.#requests.length ? 0 : index + 1;
    const request = this.#requests[index]!;
    if (request.fixed !== undefined) out.push(request.fixed);
    else {
      request.head.render(out, ctx);
      out.push(this.#tail);
    }
    return index;
  }

  /** {@inheritDoc ProtocolClient.parse} */
  parse(buf: Uint8Array, start: number, end: number, mix: number): number {
    const lineEnd = indexOfByte(buf, LF, start, end);
    if (lineEnd < 0) return incomplete(start, end);
    let length = -1;
    let chunked = false;
    let close = buf[start + 7] === 0x30; // HTTP/1.0
    let bodyStart = -1;
    // One pass over the header lines; only Content-Length, Transfer-Encoding and Connection
    // (first letters c and t) are looked at.
    for (let line = lineEnd + 1;;) {
      const next = indexOfByte(buf, LF, line, end);
      if (next < 0) return incomplete(start, end);
      if (next === line || (next === line + 1 && buf[line] === CR)) {
        bodyStart = next + 1;
        break;
      }
      const first = buf[line]! | 0x20;
      if (first === 0x63 || first === 0x74) {
        const colon = indexOfByte(buf, COLON, line, next);
        if (colon > 0) {
          if (nameIs(buf, line, colon, CONTENT_LENGTH)) length = parseDecimal(buf, colon + 1, next);
          else if (nameIs(buf, line, colon, TRANSFER_ENCODING)) {
            chunked = contains(buf, colon + 1, next, CHUNKED);
          } else if (nameIs(buf, line, colon, CONNECTION)) {
            if (contains(buf, colon + 1, next, CLOSE)) close = true;
            else if (contains(buf, colon + 1, next, KEEP_ALIVE)) close = false;
          }
        }
      }
      line = next + 1;
    }
    const status = parseStatusLine(buf, start, lineEnd);
    const isHead = this.#requests[mix]?.isHead ?? false;
    let after: number;
    if (isHead || status < 200 || status === 204 || status === 304) after = bodyStart;
    else if (chunked) after = skipChunks(buf, bodyStart, end);
    else if (length >= 0) after = bodyStart + length <= end ? bodyStart + length : -1;
    else {
      throw new LoadError(
        "unexpected_reply",
        "HTTP response without Content-Length or chunked encoding (body until close is not supported)",
      );
    }
    if (after < 0) return -1;
    this.status = status;
    this.close = close;
    if (this.#ok[status]) this.error = undefined;
    else {
      this.error = "http_status";
      this.sample = new TextDecoder().decode(buf.subarray(start, lineEnd)).trimEnd();
    }
    return after;
  }
}

function incomplete(start: number, end: number): number {
  if (end - start > MAX_HEAD) {
    throw new LoadError("unexpected_reply", "HTTP response head over 64 KiB");
  }
  return -1;
}

/**
 * Counts per status class (`1xx` ... `5xx`) from counts per code.
 *
 * @param codes Counts indexed by status code.
 * @returns Non-zero classes.
 */
export function statusClasses(codes: Readonly<Record<string, number>>): Record<string, number> {
  const classes = new Array<number>(STATUS_CLASSES).fill(0);
  for (const [code, n] of Object.entries(codes)) classes[Math.floor(Number(code) / 100)]! += n;
  const out: Record<string, number> = {};
  classes.forEach((n, c) => {
    if (n > 0) out[`${c}xx`] = n;
  });
  return out;
}

function parseStatusLine(buf: Uint8Array, start: number, lineEnd: number): number {
  // "HTTP/1.1 200 OK"
  const ok = buf[start] === 0x48 && buf[start + 1] === 0x54 && buf[start + 4] === 0x2f &&
    buf[start + 8] === 0x20;
  const status = ok ? parseDecimal(buf, start + 9, start + 12) : -1;
  if (status < 100 || status > 999) {
    throw new LoadError(
      "unexpected_reply",
      `not an HTTP status line: '${escapeSample(buf.subarray(start, lineEnd + 1))}'`,
    );
  }
  return status;
}

/** Index after the chunked body at `pos` (trailers included), or -1 when incomplete. */
function skipChunks(buf: Uint8Array, pos: number, end: number): number {
  for (;;) {
    const lf = indexOfByte(buf, LF, pos, end);
    if (lf < 0) return -1;
    let size = 0;
    let i = pos;
    for (; i < lf; i++) {
      const d = hexDigit(buf[i]!);
      if (d < 0) break;
      size = size * 16 + d;
    }
    if (i === pos) {
      throw new LoadError(
        "unexpected_reply",
        `bad chunk size: '${escapeSample(buf.subarray(pos, lf + 1))}'`,
      );
    }
    pos = lf + 1;
    if (size === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const eol = indexOfByte(buf, LF, pos, end);
        if (eol < 0) return -1;
        const empty = eol === pos || (eol === pos + 1 && buf[pos] === CR);
        pos = eol + 1;
        if (empty) return pos;
      }
    }
    pos += size + 2;
    if (pos > end) return -1;
  }
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function parseDecimal(buf: Uint8Array, from: number, to: number): number {
  let n = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const b = buf[i]!;
    if (b === 0x20 || b === 0x09 || b === CR) continue;
    const d = b - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    digits++;
  }
  return digits > 0 ? n : -1;
}

function nameIs(buf: Uint8Array, from: number, colon: number, name: Uint8Array): boolean {
  if (colon - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((buf[from + i]! | 0x20) !== name[i]) return false;
  return true;
}

/** Whether `buf[from, to)` contains `word` (lowercase ASCII), ignoring case. */
function contains(buf: Uint8Array, from: number, to: number, word: Uint8Array): boolean {
  const last = to - word.length;
  for (let i = from; i <= last; i++) {
    let j = 0;
    while (j < word.length && (buf[i + j]! | 0x20) === word[j]) j++;
    if (j === word.length) return true;
  }
  return false;
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
