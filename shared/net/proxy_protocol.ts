/**
 * PROXY protocol headers (HAProxy's `send-proxy` and `send-proxy-v2`): how a proxy tells the
 * server behind it which client a TCP connection comes from. The header is written to the
 * upstream before any byte of the client.
 *
 * Bytes follow the specification (haproxy.org/download/2.9/doc/proxy-protocol.txt):
 * - v1: one ASCII line, `PROXY TCP4 <src> <dst> <sport> <dport>\r\n` (or `TCP6`), or
 *   `PROXY UNKNOWN\r\n` when the addresses cannot be told.
 * - v2: the 12-byte signature, version/command, family/protocol, a 16-bit big-endian length,
 *   then the addresses and ports in network byte order.
 *
 * @module
 */

import { formatIPv6, type HostPort, isIPv4, parseIPv6 } from "./address.ts";

/** Which PROXY protocol header to send, or `off`. */
export type ProxyProtocolMode = "off" | "v1" | "v2";

/** Every value of {@linkcode ProxyProtocolMode}, for config validation. */
export const PROXY_PROTOCOL_MODES: readonly ProxyProtocolMode[] = ["off", "v1", "v2"];

/** The 12 bytes every v2 header starts with: `\r\n\r\n\0\r\nQUIT\n`. */
export const PROXY_V2_SIGNATURE: Uint8Array = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);

/** v2 version nibble (2) with the PROXY command (1). */
const V2_PROXY = 0x21;
/** v2 version nibble (2) with the LOCAL command (0). */
const V2_LOCAL = 0x20;
/** v2 family/protocol bytes. */
const V2_TCP4 = 0x11;
const V2_TCP6 = 0x21;
const V2_UNSPEC = 0x00;
/** v2 fixed header length: signature, version/command, family, length. */
const V2_HEADER = 16;
const V4_BYTES = 4;
const V6_BYTES = 16;

/** An address as the header carries it. */
interface Family {
  family: 4 | 6;
  bytes: Uint8Array;
  text: string;
}

/**
 * Encode a v1 (text) header for a TCP connection from `source` to `destination`.
 *
 * Both addresses IPv4 gives `TCP4`; otherwise IPv4 addresses are written as IPv4-mapped IPv6
 * and the line says `TCP6`. Hostnames that are not IP literals give `PROXY UNKNOWN\r\n`.
 *
 * @param source The client's address (the connection's remote end).
 * @param destination The address the client connected to (the proxy's local end).
 * @returns The header bytes.
 * @example
 * ```ts
 * encodeProxyV1({ hostname: "192.0.2.1", port: 5000 }, { hostname: "192.0.2.2", port: 80 });
 * // "PROXY TCP4 192.0.2.1 192.0.2.2 5000 80\r\n"
 * ```
 */
export function encodeProxyV1(source: HostPort, destination: HostPort): Uint8Array {
  const pair = familyPair(source, destination);
  if (pair === undefined) return new TextEncoder().encode("PROXY UNKNOWN\r\n");
  const [src, dst] = pair;
  const proto = src.family === 4 ? "TCP4" : "TCP6";
  return new TextEncoder().encode(
    `PROXY ${proto} ${src.text} ${dst.text} ${source.port} ${destination.port}\r\n`,
  );
}

/**
 * Encode a v2 (binary) header for a TCP connection from `source` to `destination`.
 *
 * Both IPv4: family `0x11` and 12 address bytes; otherwise `0x21` (IPv4 addresses mapped to
 * IPv6) and 36 bytes. Hostnames that are not IP literals give a PROXY header with the
 * `AF_UNSPEC` family and no addresses.
 *
 * @param source The client's address.
 * @param destination The address the client connected to.
 * @returns The header bytes.
 * @example
 * ```ts
 * const header = encodeProxyV2({ hostname: "::1", port: 5000 }, { hostname: "::1", port: 80 });
 * header.length; // 52
 * ```
 */
export function encodeProxyV2(source: HostPort, destination: HostPort): Uint8Array {
  const pair = familyPair(source, destination);
  if (pair === undefined) return v2Header(V2_PROXY, V2_UNSPEC, 0);
  const [src, dst] = pair;
  const addrLen = src.bytes.length;
  const out = v2Header(V2_PROXY, src.family === 4 ? V2_TCP4 : V2_TCP6, addrLen * 2 + 4);
  out.set(src.bytes, V2_HEADER);
  out.set(dst.bytes, V2_HEADER + addrLen);
  const view = new DataView(out.buffer);
  view.setUint16(V2_HEADER + addrLen * 2, source.port);
  view.setUint16(V2_HEADER + addrLen * 2 + 2, destination.port);
  return out;
}

/**
 * Encode the header of the given version for a proxied TCP connection.
 *
 * @param version `v1` or `v2`.
 * @param source The client's address.
 * @param destination The address the client connected to.
 * @returns The header bytes.
 * @example
 * ```ts
 * const header = encodeProxyHeader("v2", client.remoteAddr, client.localAddr);
 * await upstream.write(header);
 * ```
 */
export function encodeProxyHeader(
  version: Exclude<ProxyProtocolMode, "off">,
  source: HostPort,
  destination: HostPort,
): Uint8Array {
  return version === "v1" ? encodeProxyV1(source, destination) : encodeProxyV2(source, destination);
}

/**
 * Encode the header a proxy sends on connections of its own (health checks): v1
 * `PROXY UNKNOWN\r\n`, v2 the LOCAL command with no addresses.
 *
 * @param version `v1` or `v2`.
 * @returns The header bytes.
 * @example
 * ```ts
 * encodeProxyLocal("v2").length; // 16
 * ```
 */
export function encodeProxyLocal(version: Exclude<ProxyProtocolMode, "off">): Uint8Array {
  return version === "v1"
    ? new TextEncoder().encode("PROXY UNKNOWN\r\n")
    : v2Header(V2_LOCAL, V2_UNSPEC, 0);
}

function v2Header(command: number, family: number, length: number): Uint8Array {
  const out = new Uint8Array(V2_HEADER + length);
  out.set(PROXY_V2_SIGNATURE, 0);
  out[12] = command;
  out[13] = family;
  new DataView(out.buffer).setUint16(14, length);
  return out;
}

/** Both addresses in one family (IPv4 mapped to IPv6 when they differ), or undefined. */
function familyPair(a: HostPort, b: HostPort): [Family, Family] | undefined {
  const x = toFamily(a.hostname);
  const y = toFamily(b.hostname);
  if (x === undefined || y === undefined) return undefined;
  if (x.family === y.family) return [x, y];
  return [toSix(x), toSix(y)];
}

function toFamily(host: string): Family | undefined {
  if (isIPv4(host)) {
    return { family: 4, bytes: new Uint8Array(host.split(".").map(Number)), text: host };
  }
  const groups = parseIPv6(host);
  if (groups === undefined) return undefined;
  const bytes = new Uint8Array(V6_BYTES);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return { family: 6, bytes, text: formatIPv6(groups) };
}

function toSix(addr: Family): Family {
  if (addr.family === 6) return addr;
  const bytes = new Uint8Array(V6_BYTES);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(addr.bytes.subarray(0, V4_BYTES), 12);
  return { family: 6, bytes, text: `::ffff:${addr.text}` };
}

/**
 * Write the PROXY protocol header for `client` to `upstream` before any relayed byte
 * (nothing when `mode` is "off").
 *
 * @param upstream The connection to the backend or target.
 * @param mode "off", "v1" or "v2".
 * @param client The accepted client connection (its remote and local addresses go in the header).
 * @returns Resolves once the header is written.
 * @throws {Deno.errors.BrokenPipe} (or another socket error) when the upstream is gone.
 * @example
 * ```ts
 * await sendProxyHeader(upstream, "v1", client); // "PROXY TCP4 …\r\n" before any client byte
 * ```
 */
export async function sendProxyHeader(
  upstream: { write(p: Uint8Array): Promise<number> },
  mode: ProxyProtocolMode,
  client: { readonly remoteAddr: Deno.Addr; readonly localAddr: Deno.Addr },
): Promise<void> {
  if (mode === "off") return;
  const header = encodeProxyHeader(
    mode,
    client.remoteAddr as Deno.NetAddr,
    client.localAddr as Deno.NetAddr,
  );
  let off = 0;
  while (off < header.length) off += await upstream.write(header.subarray(off));
}
