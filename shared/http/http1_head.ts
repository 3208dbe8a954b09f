/**
 * Parsing an HTTP/1.x request head (request line and header fields), for the HTTP endpoint
 * the epoll engine serves itself ({@link ./http1.ts}). Strict where laxness would be a
 * smuggling or confusion risk (one Content-Length, no Transfer-Encoding, no whitespace before
 * a colon, no obsolete line folding), as HAProxy and nginx are.
 *
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  /** The method, e.g. `GET`. */
  method: string;
  /** The request target as sent: `/path?query` or an absolute URL. */
  target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Header fields, in order. */
  headers: Headers;
  /** Body length from Content-Length (0 when absent). */
  contentLength: number;
  /** Whether the client allows another request on this connection. */
  keepAlive: boolean;
  /** The client sent `Expect: 100-continue`. */
  expectContinue: boolean;
}

/** Why a head was refused: the status to answer with, and one line saying why. */
export interface HeadError {
  /** HTTP status (400, 411, 413, 431, 501, 505). */
  status: number;
  /** One line for the response body. */
  error: string;
}

/** Largest request head accepted, bytes (nginx's default large buffer is 8 KiB; 16 here). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Largest request body accepted, bytes (the endpoint's admin API takes small JSON). */
export const MAX_BODY_BYTES = 1024 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const latin1 = new TextDecoder("latin1");

/**
 * Where the head ends: the index just past the blank line (`\r\n\r\n`), or -1.
 *
 * @param buf Bytes received.
 * @param end How many of them are valid.
 * @param from Where to start looking (bytes before it were searched already).
 * @returns The head's length, or -1 when the blank line has not arrived.
 * @example
 * ```ts
 * headEnd(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"), 18, 0); // 18
 * ```
 */
export function headEnd(buf: Uint8Array, end: number, from: number): number {
  for (let i = Math.max(from, 3); i < end; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

/**
 * Parse a request head (the bytes up to and including the blank line).
 *
 * @param head The head's bytes.
 * @returns The head, or the status and reason to refuse it with.
 * @example
 * ```ts
 * const head = parseRequestHead(new TextEncoder().encode("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
 * if (!("status" in head)) console.log(head.method, head.target); // GET /metrics
 * ```
 */
export function parseRequestHead(head: Uint8Array): RequestHead | HeadError {
  const lines = latin1.decode(head).split("\r\n");
  // A leading empty line before the request line is tolerated (RFC 9112 2.2).
  if (lines[0] === "" && lines.length > 3) lines.shift();
  const parts = lines[0]!.split(" ");
  if (parts.length !== 3 || !TOKEN.test(parts[0]!) || parts[1] === "") {
    return bad(`malformed request line '${printable(lines[0]!)}'`);
  }
  const [method, target, version] = parts as [string, string, string];
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    if (/^HTTP\/\d\.\d$/.test(version)) {
      return { status: 505, error: `HTTP version ${version} is not supported` };
    }
    return bad(`malformed request line '${printable(lines[0]!)}'`);
  }
  if (!/^[\x21-\x7e]+$/.test(target)) {
    return bad(`request target '${printable(target)}' has characters outside visible ASCII`);
  }
  if (!target.startsWith("/") && !/^https?:\/\//i.test(target) && target !== "*") {
    return bad(`request target '${printable(target)}' is not a path`);
  }
  const headers = new Headers();
  let contentLength: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    if (line[0] === " " || line[0] === "\t") return bad("obsolete line folding in a header");
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) return bad(`malformed header line '${printable(line)}'`);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === "transfer-encoding") {
      return { status: 411, error: "chunked request bodies are not accepted; send Content-Length" };
    }
    if (lower === "content-length") {
      if (!/^\d{1,15}$/.test(value)) return bad(`bad Content-Length '${printable(value)}'`);
      if (contentLength !== undefined && contentLength !== value) {
        return bad("conflicting Content-Length headers");
      }
      contentLength = value;
    }
    try {
      headers.append(name, value);
    } catch {
      return bad(`bad value in header '${name}'`);
    }
  }
  const length = contentLength === undefined ? 0 : Number(contentLength);
  if (length > MAX_BODY_BYTES) {
    return { status: 413, error: `request body over ${MAX_BODY_BYTES} bytes` };
  }
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = version === "HTTP/1.1"
    ? !/(^|,)\s*close\s*(,|$)/.test(connection)
    : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
  return {
    method,
    target,
    version,
    headers,
    contentLength: length,
    keepAlive,
    expectContinue: (headers.get("expect") ?? "").toLowerCase() === "100-continue",
  };
}

function bad(error: string): HeadError {
  return { status: 400, error };
}

/** At most 80 characters of `s`, control characters shown as `?`. */
function printable(s: string): string {
  // deno-lint-ignore no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f-\xff]/g, "?");
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
