/**
 * PROXY protocol headers received (HAProxy's `accept-proxy`): a pure parser from the first
 * bytes of a connection to "need more bytes", "a header of N bytes" or "not a valid header".
 * It never reads a socket, so it can be fuzzed with split, truncated and hostile input.
 *
 * What is accepted (haproxy.org/download/2.9/doc/proxy-protocol.txt):
 * - v1: `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` with addresses of the named family,
 *   ports 0-65535; `PROXY UNKNOWN…\r\n`; at most 107 bytes with the CRLF.
 * - v2: the 12-byte signature, version 2, command LOCAL or PROXY, any family (TCP over IPv4 or
 *   IPv6 gives addresses; UNSPEC, UDP and UNIX give none), TLVs walked and checked to fit,
 *   at most {@linkcode MAX_PROXY_V2_PAYLOAD} bytes after the 16-byte fixed part.
 *
 * @module
 */

import { formatIPv6, type HostPort, isIPv4, isIPv6 } from "./address.ts";
import { PROXY_V2_SIGNATURE } from "./proxy_protocol.ts";

/** Which headers a listener accepts. */
export type AcceptProxyVersion = "v1" | "v2" | "any";

/** Largest v1 header, CRLF included (the specification's bound). */
export const MAX_PROXY_V1_LENGTH = 107;
/**
 * Largest v2 payload (addresses and TLVs) accepted. The format allows 65535; real senders
 * (HAProxy, AWS NLB, GCP, Envoy) stay well under 1 KiB, so anything larger is refused as
 * hostile rather than buffered.
 */
export const MAX_PROXY_V2_PAYLOAD = 4096;
/** The fixed part of a v2 header: signature, version/command, family, length. */
export const PROXY_V2_FIXED = 16;

/** One v2 Type-Length-Value record. */
export interface ProxyTlv {
  /** The type byte (e.g. 0x01 ALPN, 0x02 authority, 0x20 SSL). */
  type: number;
  /** The value bytes (a view into the input). */
  value: Uint8Array;
}

/** A parsed header. */
export interface ProxyHeader {
  /** 1 or 2. */
  version: 1 | 2;
  /**
   * `proxy`: the addresses are the client's. `local`: the sender's own connection (health
   * check); use the connection's real addresses.
   */
  command: "proxy" | "local";
  /** The addresses' family; `unknown` (v1 UNKNOWN, v2 UNSPEC, UDP, UNIX) carries none. */
  family: "tcp4" | "tcp6" | "unknown";
  /** The client's address, when the header carries one for TCP. */
  source?: HostPort;
  /** The address the client connected to, when carried. */
  destination?: HostPort;
  /** v2 TLVs, in order (empty for v1). */
  tlvs: ProxyTlv[];
}

/** What {@linkcode parseProxyHeader} found. */
export type ProxyParseResult =
  | { kind: "need-more" }
  | { kind: "header"; header: ProxyHeader; consumed: number }
  | { kind: "error"; reason: string };

const V1_PREFIX = new TextEncoder().encode("PROXY ");
const CR = 0x0d;
const LF = 0x0a;
const V2_VERSION = 0x20;
const V2_LOCAL = 0x0;
const V2_PROXY = 0x1;
const AF_UNSPEC = 0x0;
const AF_INET = 0x1;
const AF_INET6 = 0x2;
const PROTO_STREAM = 0x1;
const V4_ADDRS = 12;
const V6_ADDRS = 36;
const TLV_HEADER = 3;
const MAX_PORT = 65535;

const NEED_MORE: ProxyParseResult = { kind: "need-more" };

/**
 * Parse the PROXY protocol header at the start of `bytes`.
 *
 * @param bytes What the connection has sent so far.
 * @param accept Which versions are accepted. @default "any"
 * @returns `need-more` while `bytes` is a valid prefix too short to decide; `header` with the
 * count of bytes it took (the rest is the client's data); `error` with the reason otherwise.
 * @example
 * ```ts
 * const r = parseProxyHeader(new TextEncoder().encode("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhi"));
 * if (r.kind === "header") r.header.source; // { hostname: "1.2.3.4", port: 1 }, r.consumed 32
 * ```
 */
export function parseProxyHeader(
  bytes: Uint8Array,
  accept: AcceptProxyVersion = "any",
): ProxyParseResult {
  if (bytes.length === 0) return NEED_MORE;
  const v1 = accept !== "v2" && prefixMatches(bytes, V1_PREFIX);
  const v2 = accept !== "v1" && prefixMatches(bytes, PROXY_V2_SIGNATURE);
  if (v1 && v2) return NEED_MORE; // cannot happen past byte 0, kept for safety
  if (v1) return parseV1(bytes);
  if (v2) return parseV2(bytes);
  const expected = accept === "v1"
    ? "a v1 header ('PROXY ...')"
    : accept === "v2"
    ? "the v2 signature"
    : "a v1 or v2 header";
  return { kind: "error", reason: `expected ${expected}, got ${describeStart(bytes)}` };
}

/** Whether `bytes` and `prefix` agree on their common length (a prefix that may yet match). */
function prefixMatches(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function describeStart(bytes: Uint8Array): string {
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return `bytes ${head}${bytes.length > 8 ? " ..." : ""}`;
}

function parseV1(bytes: Uint8Array): ProxyParseResult {
  if (bytes.length < V1_PREFIX.length) return NEED_MORE;
  const limit = Math.min(bytes.length, MAX_PROXY_V1_LENGTH);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    if (bytes[i] === LF) {
      end = i;
      break;
    }
    // Only printable ASCII and the final CR may appear in the line.
    if (bytes[i]! < 0x20 && bytes[i] !== CR || bytes[i]! > 0x7e) {
      return { kind: "error", reason: `v1 header has a non-ASCII byte 0x${hex(bytes[i]!)}` };
    }
  }
  if (end < 0) {
    return bytes.length >= MAX_PROXY_V1_LENGTH
      ? { kind: "error", reason: `v1 header longer than ${MAX_PROXY_V1_LENGTH} bytes` }
      : NEED_MORE;
  }
  if (bytes[end - 1] !== CR) return { kind: "error", reason: "v1 header ends in LF without CR" };
  const line = new TextDecoder().decode(bytes.subarray(0, end - 1));
  const consumed = end + 1;
  const parts = line.split(" ");
  if (parts[1] === "UNKNOWN") {
    return { kind: "header", header: unknownHeader(1, "proxy"), consumed };
  }
  if (parts.length !== 6) {
    return { kind: "error", reason: `v1 header needs 6 fields, got '${clip(line)}'` };
  }
  const [, proto, src, dst, sport, dport] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (proto !== "TCP4" && proto !== "TCP6") {
    return {
      kind: "error",
      reason: `v1 protocol must be TCP4, TCP6 or UNKNOWN, got '${clip(proto)}'`,
    };
  }
  const valid = proto === "TCP4" ? isIPv4 : isIPv6;
  for (const addr of [src, dst]) {
    if (!valid(addr) || addr.includes("%")) {
      return { kind: "error", reason: `v1 ${proto} header has a bad address '${clip(addr)}'` };
    }
  }
  const sp = parsePort(sport);
  const dp = parsePort(dport);
  if (sp === undefined || dp === undefined) {
    return { kind: "error", reason: `v1 header has a bad port in '${clip(line)}'` };
  }
  return {
    kind: "header",
    header: {
      version: 1,
      command: "proxy",
      family: proto === "TCP4" ? "tcp4" : "tcp6",
      source: { hostname: src, port: sp },
      destination: { hostname: dst, port: dp },
      tlvs: [],
    },
    consumed,
  };
}

function parsePort(text: string): number | undefined {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_PORT ? n : undefined;
}

function parseV2(bytes: Uint8Array): ProxyParseResult {
  if (bytes.length < PROXY_V2_FIXED) {
    // Check what is already there so hostile bytes are refused without waiting.
    if (bytes.length > 12 && (bytes[12]! & 0xf0) !== V2_VERSION) return badVersion(bytes[12]!);
    return NEED_MORE;
  }
  const verCmd = bytes[12]!;
  if ((verCmd & 0xf0) !== V2_VERSION) return badVersion(verCmd);
  const command = verCmd & 0x0f;
  if (command !== V2_LOCAL && command !== V2_PROXY) {
    return { kind: "error", reason: `v2 command must be LOCAL or PROXY, got 0x${hex(command)}` };
  }
  const famProto = bytes[13]!;
  const family = famProto >> 4;
  const proto = famProto & 0x0f;
  if (family > 0x3 || proto > 0x2) {
    return { kind: "error", reason: `v2 family/protocol byte is invalid, got 0x${hex(famProto)}` };
  }
  const length = (bytes[14]! << 8) | bytes[15]!;
  if (length > MAX_PROXY_V2_PAYLOAD) {
    return {
      kind: "error",
      reason:
        `v2 header longer than ${MAX_PROXY_V2_PAYLOAD} bytes after the fixed part, got ${length}`,
    };
  }
  const addrLen = family === AF_INET ? V4_ADDRS : family === AF_INET6 ? V6_ADDRS : 0;
  const tcp = proto === PROTO_STREAM && addrLen > 0;
  if (family !== AF_UNSPEC && family <= AF_INET6 && length < addrLen) {
    return {
      kind: "error",
      reason: `v2 length ${length} is too short for the ${family === AF_INET ? "IPv4" : "IPv6"} ` +
        `addresses (${addrLen} bytes)`,
    };
  }
  const consumed = PROXY_V2_FIXED + length;
  if (bytes.length < consumed) return NEED_MORE;
  const payload = bytes.subarray(PROXY_V2_FIXED, consumed);
  // UNIX addresses (216 bytes) take their share before the TLVs, when present.
  const skip = family === 0x3 ? Math.min(length, 216) : addrLen;
  const tlvs = parseTlvs(payload.subarray(skip));
  if (typeof tlvs === "string") return { kind: "error", reason: tlvs };
  if (command === V2_LOCAL || !tcp) {
    const header = unknownHeader(2, command === V2_LOCAL ? "local" : "proxy");
    header.tlvs = tlvs;
    return { kind: "header", header, consumed };
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const half = (addrLen - 4) / 2;
  const text = family === AF_INET ? ipv4Text : ipv6Text;
  return {
    kind: "header",
    header: {
      version: 2,
      command: "proxy",
      family: family === AF_INET ? "tcp4" : "tcp6",
      source: { hostname: text(payload.subarray(0, half)), port: view.getUint16(addrLen - 4) },
      destination: {
        hostname: text(payload.subarray(half, 2 * half)),
        port: view.getUint16(addrLen - 2),
      },
      tlvs,
    },
    consumed,
  };
}

function badVersion(verCmd: number): ProxyParseResult {
  return { kind: "error", reason: `v2 version must be 2, got 0x${hex(verCmd >> 4)}` };
}

/** Walk the TLVs; every one must fit exactly. Returns the error text on a bad one. */
function parseTlvs(bytes: Uint8Array): ProxyTlv[] | string {
  const out: ProxyTlv[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < TLV_HEADER) {
      return `v2 TLV at offset ${off} is truncated (${bytes.length - off} bytes left)`;
    }
    const type = bytes[off]!;
    const len = (bytes[off + 1]! << 8) | bytes[off + 2]!;
    const start = off + TLV_HEADER;
    if (start + len > bytes.length) {
      return `v2 TLV type 0x${hex(type)} claims ${len} bytes, ${bytes.length - start} left`;
    }
    out.push({ type, value: bytes.subarray(start, start + len) });
    off = start + len;
  }
  return out;
}

function unknownHeader(version: 1 | 2, command: "proxy" | "local"): ProxyHeader {
  return { version, command, family: "unknown", tlvs: [] };
}

function ipv4Text(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function ipv6Text(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  return formatIPv6(groups);
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
