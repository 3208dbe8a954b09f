/**
 * Client address filtering by CIDR: parse `10.0.0.0/8`, `2001:db8::/32` and bare IPs, match
 * client addresses (IPv4-mapped IPv6 such as `::ffff:10.1.2.3` counts as IPv4), and decide
 * allow/deny the way the proxy and the load balancer do.
 *
 * @module
 */

import { formatIPv6, InputError, isIPv4, parseIPv6 } from "./address.ts";

/** Thrown by {@linkcode parseCidr} for text that is not a CIDR block or IP address. */
export class CidrError extends InputError {
  /** "CidrError". */
  override name = "CidrError";
}

/** A parsed CIDR block. */
export interface Cidr {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Network address bytes (4 or 16), host bits cleared. */
  readonly bytes: Uint8Array;
  /** Prefix length in bits. */
  readonly prefix: number;
  /** The block written back in canonical-ish form, e.g. `10.0.0.0/8`. */
  readonly text: string;
}

const V4_BITS = 32;
const V6_BITS = 128;
/** `::ffff:0:0/96`: the IPv4-mapped IPv6 prefix, in bits. */
const MAPPED_PREFIX_BITS = 96;
const MAPPED_MARKER = 0xffff;
const BYTE_BITS = 8;

/**
 * Parse an IP literal (v4, v6 with optional zone, or IPv4-mapped v6) into bytes; IPv4-mapped
 * addresses come back as 4 IPv4 bytes.
 *
 * @param text Address without brackets or port.
 * @returns 4 or 16 bytes, or undefined when the text is not an IP address.
 * @example
 * ```ts
 * parseIp("::ffff:10.0.0.1"); // Uint8Array [10, 0, 0, 1]
 * ```
 */
export function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return new Uint8Array(text.split(".").map(Number));
  const groups = parseIPv6(text);
  if (groups === undefined) return undefined;
  if (isMapped(groups)) {
    return new Uint8Array([groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff]);
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isMapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === MAPPED_MARKER;
}

/**
 * Parse a CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or a bare IP (a /32 or /128). Host bits
 * are cleared (`10.1.2.3/8` is `10.0.0.0/8`). An IPv4-mapped IPv6 block with a prefix of at
 * least 96 (`::ffff:10.0.0.0/104`) becomes the IPv4 block it maps.
 *
 * @param input The text.
 * @returns The block.
 * @throws {CidrError} When the text is not a block or address.
 * @example
 * ```ts
 * parseCidr("192.168.0.0/16").prefix; // 16
 * ```
 */
export function parseCidr(input: string): Cidr {
  const text = input.trim();
  const slash = text.indexOf("/");
  const ipText = slash < 0 ? text : text.slice(0, slash);
  if (ipText.includes("%")) throw new CidrError(input, "expected an address without a zone");
  const v4 = isIPv4(ipText);
  const groups = v4 ? undefined : parseIPv6(ipText);
  if (!v4 && groups === undefined) {
    throw new CidrError(input, "expected an IPv4 or IPv6 address or CIDR block like 10.0.0.0/8");
  }
  const max = v4 ? V4_BITS : V6_BITS;
  let prefix = max;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw new CidrError(input, `expected a prefix length 0-${max} after '/'`);
    }
    prefix = Number(prefixText);
  }
  let bytes = parseIp(ipText)!;
  let family: 4 | 6 = bytes.length === 4 ? 4 : 6;
  if (!v4 && family === 4) {
    // An IPv4-mapped block: keep it IPv4 when the prefix covers the mapping, else a v6 block.
    if (prefix >= MAPPED_PREFIX_BITS) {
      prefix -= MAPPED_PREFIX_BITS;
    } else {
      const full = new Uint8Array(16);
      full[10] = 0xff;
      full[11] = 0xff;
      full.set(bytes, 12);
      bytes = full;
      family = 6;
    }
  }
  const masked = mask(bytes, prefix);
  return { family, bytes: masked, prefix, text: `${formatBytes(masked)}/${prefix}` };
}

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(BYTE_BITS, prefix - i * BYTE_BITS));
    out[i] = bytes[i]! & (0xff << (BYTE_BITS - bits));
  }
  return out;
}

function formatBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  return formatIPv6(groups);
}

/**
 * Whether an address lies in a block.
 *
 * @param block A block from {@linkcode parseCidr}.
 * @param ip Address bytes from {@linkcode parseIp}.
 * @returns True when the first `prefix` bits are equal (families must match).
 * @example
 * ```ts
 * cidrContains(parseCidr("10.0.0.0/8"), parseIp("10.1.2.3")!); // true
 * ```
 */
export function cidrContains(block: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== block.bytes.length) return false;
  const whole = Math.floor(block.prefix / BYTE_BITS);
  for (let i = 0; i < whole; i++) if (ip[i] !== block.bytes[i]) return false;
  const rest = block.prefix % BYTE_BITS;
  if (rest === 0) return true;
  const m = 0xff << (BYTE_BITS - rest) & 0xff;
  return (ip[whole]! & m) === block.bytes[whole];
}

/**
 * A schema `item` validator for `allow`/`deny` arrays: an error reason, or undefined when the
 * text is a CIDR block or IP address.
 *
 * @param value One array element.
 * @returns Undefined when valid, else the reason for the config error.
 * @example
 * ```ts
 * const field = { type: "strings", item: cidrItem, description: "Allowed clients" } as const;
 * ```
 */
export function cidrItem(value: string): string | undefined {
  try {
    parseCidr(value);
    return undefined;
  } catch (error) {
    if (!(error instanceof CidrError)) throw error;
    return error.message.replace(/, got .*$/, "");
  }
}

/** Options for {@linkcode AccessList}. */
export interface AccessListOptions {
  /** Blocks clients must be in; empty allows everyone not denied. @default [] */
  allow?: readonly string[];
  /** Blocks refused even when allowed. @default [] */
  deny?: readonly string[];
}

/**
 * Allow/deny by client address: a client is admitted when it matches no `deny` block and,
 * if `allow` is not empty, some `allow` block. Unparseable addresses (not IP) are refused
 * when any rule is set.
 *
 * @example
 * ```ts
 * const access = new AccessList({ allow: ["10.0.0.0/8"], deny: ["10.0.0.66"] });
 * access.admits("10.1.2.3"); // true
 * access.admits("::ffff:10.0.0.66"); // false
 * ```
 */
export class AccessList {
  #allow: Cidr[];
  #deny: Cidr[];

  /**
   * Rules from `allow` and `deny` CIDR blocks.
   *
   * @param options `allow` and `deny` blocks.
   * @throws {CidrError} On a block that does not parse.
   */
  constructor(options: AccessListOptions = {}) {
    this.#allow = (options.allow ?? []).map(parseCidr);
    this.#deny = (options.deny ?? []).map(parseCidr);
  }

  /** True when no rule is set (every client admitted, nothing to check). */
  get open(): boolean {
    return this.#allow.length === 0 && this.#deny.length === 0;
  }

  /**
   * Whether a client address is admitted.
   *
   * @param address The client's IP (as `Deno.NetAddr.hostname` gives it).
   * @returns True when admitted.
   */
  admits(address: string): boolean {
    if (this.open) return true;
    const ip = parseIp(address);
    if (ip === undefined) return false;
    if (this.#deny.some((block) => cidrContains(block, ip))) return false;
    return this.#allow.length === 0 || this.#allow.some((block) => cidrContains(block, ip));
  }
}

/**
 * The `allow` and `deny` config keys (arrays of CIDR blocks; flags `--allow`, `--deny`,
 * repeatable), to spread into a service schema.
 *
 * @example
 * ```ts
 * const SCHEMA = { ...ACCESS_FIELDS } as const; // allow = ["10.0.0.0/8"], deny = []
 * ```
 */
export const ACCESS_FIELDS = {
  allow: {
    type: "strings",
    default: [],
    item: cidrItem,
    description: "Only clients in these CIDR blocks are served (repeatable); empty = everyone",
  },
  deny: {
    type: "strings",
    default: [],
    item: cidrItem,
    description: "Clients in these CIDR blocks are closed at once (repeatable); wins over allow",
  },
} as const;
