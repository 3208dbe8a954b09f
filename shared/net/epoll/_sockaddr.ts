/**
 * `struct sockaddr_in` / `sockaddr_in6` to and from `Deno.NetAddr`, with IP text in the forms
 * Deno prints (dotted IPv4; compressed lowercase IPv6, `::ffff:a.b.c.d` for mapped v4).
 *
 * @module
 */

import { formatIPv6 as formatGroups, parseIPv6 as parseGroups } from "../address.ts";
import { AF_INET, AF_INET6 } from "./_libc.ts";

/** Bytes of the largest socket address handled (`sockaddr_in6`). */
export const SOCKADDR_SIZE = 28;
const SOCKADDR_IN_SIZE = 16;

/** An encoded socket address. */
export interface SockAddr {
  /** AF_INET or AF_INET6. */
  family: number;
  /** The struct bytes. */
  bytes: Uint8Array;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Parse dotted IPv4 text.
 *
 * @param text Like "127.0.0.1".
 * @returns Four bytes, or undefined when `text` is not an IPv4 literal.
 * @example
 * ```ts
 * parseIPv4("127.0.0.1"); // Uint8Array [127, 0, 0, 1]
 * ```
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const m = IPV4.exec(text);
  if (m === null) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/**
 * Parse IPv6 text (with `::` and an optional trailing dotted IPv4; no zone).
 *
 * @param text Like "::1" or "[::1]".
 * @returns Sixteen bytes, or undefined when `text` is not an IPv6 literal.
 * @example
 * ```ts
 * parseIPv6("::1"); // 15 zero bytes, then 1
 * ```
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (text.includes("%")) return undefined;
  const groups = parseGroups(text);
  if (groups === undefined) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * Encode an IP literal and port as a socket address.
 *
 * @param hostname IPv4 or IPv6 literal (brackets allowed).
 * @param port 0-65535.
 * @returns The struct and its family, or undefined when `hostname` is not an IP literal.
 * @example
 * ```ts
 * const addr = encodeSockAddr("::1", 8080); // { family: AF_INET6, bytes: 28 bytes }
 * ```
 */
export function encodeSockAddr(hostname: string, port: number): SockAddr | undefined {
  const v4 = parseIPv4(hostname);
  if (v4 !== undefined) return sockAddr(AF_INET, SOCKADDR_IN_SIZE, 4, v4, port);
  const v6 = parseIPv6(hostname);
  return v6 === undefined ? undefined : sockAddr(AF_INET6, SOCKADDR_SIZE, 8, v6, port);
}

/** A `sockaddr_in` or `sockaddr_in6`: family (host order), port (network order), address. */
function sockAddr(
  family: number,
  size: number,
  ipOffset: number,
  ip: Uint8Array,
  port: number,
): SockAddr {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, family, true);
  view.setUint16(2, port, false);
  bytes.set(ip, ipOffset);
  return { family, bytes };
}

/**
 * Decode a socket address filled in by the kernel.
 *
 * @param bytes A `sockaddr_in` or `sockaddr_in6`.
 * @returns The address with `transport: "tcp"`.
 * @throws {TypeError} For another address family.
 * @example
 * ```ts
 * decodeSockAddr(encodeSockAddr("127.0.0.1", 80)!.bytes); // { transport: "tcp", hostname: "127.0.0.1", port: 80 }
 * ```
 */
export function decodeSockAddr(bytes: Uint8Array): Deno.NetAddr {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === AF_INET) {
    return { transport: "tcp", hostname: bytes.subarray(4, 8).join("."), port };
  }
  if (family === AF_INET6) {
    return { transport: "tcp", hostname: formatIPv6(bytes.subarray(8, 24)), port };
  }
  throw new TypeError(`Cannot decode a socket address of family ${family}`);
}

/**
 * Format sixteen bytes as IPv6 text the way Deno (Rust's `Ipv6Addr`) does.
 *
 * @param b The address bytes.
 * @returns Like "::1", "fe80::1" or "::ffff:127.0.0.1".
 * @example
 * ```ts
 * formatIPv6(parseIPv6("fe80:0:0:0:0:0:0:1")!); // "fe80::1"
 * ```
 */
export function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  return formatGroups(groups);
}
