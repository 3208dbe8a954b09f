/**
 * `host:port` addresses: parsing, formatting and the error they raise.
 *
 * @module
 */

/** A parsed TCP address: a hostname (or IP literal, without brackets) and a port. */
export interface HostPort {
  /** Hostname or IP literal; IPv6 literals are stored without brackets. */
  hostname: string;
  /** Port number, 0 to 65535; 0 means "any free port" when listening. */
  port: number;
}

/** Text that does not parse: the base of {@linkcode AddressError} and `CidrError`. */
export class InputError extends Error {
  /** The input that failed to parse. */
  readonly input: string;

  /**
   * Text that does not parse.
   *
   * @param input The rejected string.
   * @param reason Why it was rejected, e.g. "expected host:port".
   */
  constructor(input: string, reason: string) {
    super(`${reason}, got '${input}'`);
    this.input = input;
  }
}

/** Thrown by {@linkcode parseAddress} when a string is not a `host:port` address. */
export class AddressError extends InputError {
  /** "AddressError". */
  override name = "AddressError";
}

const MAX_PORT = 65535;
const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Parse `host:port`, `[v6]:port` or `:port` (all interfaces of IPv4).
 *
 * @param input The address string.
 * @returns The hostname and port.
 * @throws {AddressError} When the string is not a valid address.
 * @example
 * ```ts
 * parseAddress("[::1]:3000"); // { hostname: "::1", port: 3000 }
 * ```
 */
export function parseAddress(input: string): HostPort {
  const text = input.trim();
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0 || text[end + 1] !== ":") {
      throw new AddressError(input, "expected [ipv6]:port");
    }
    host = text.slice(1, end);
    portText = text.slice(end + 2);
    if (!isIPv6(host)) {
      throw new AddressError(input, "expected a valid IPv6 literal in [ipv6]:port");
    }
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) throw new AddressError(input, "expected host:port");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) {
      throw new AddressError(input, "expected IPv6 addresses in brackets, like [::1]:3000");
    }
    if (host === "") host = "0.0.0.0";
    if (IPV4_RE.test(host)) {
      if (!isIPv4(host)) throw new AddressError(input, "expected a valid IPv4 address");
    } else if (!HOSTNAME_RE.test(host) || /^[\d.]+$/.test(host)) {
      throw new AddressError(input, "expected a valid hostname or IP address");
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw new AddressError(input, "expected a port number 0-65535");
  const port = Number(portText);
  if (port > MAX_PORT) throw new AddressError(input, "expected a port number 0-65535");
  return { hostname: host, port };
}

/**
 * Format a hostname and port as `host:port`, bracketing IPv6 literals.
 *
 * @param addr Anything with `hostname` and `port` (a {@linkcode HostPort} or `Deno.NetAddr`).
 * @returns The address as text.
 * @example
 * ```ts
 * formatAddress({ hostname: "::1", port: 80 }); // "[::1]:80"
 * ```
 */
export function formatAddress(addr: HostPort): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Whether a string is a dotted-quad IPv4 address.
 *
 * @param text Candidate address.
 * @returns True for `a.b.c.d` with each part 0-255.
 * @example
 * ```ts
 * isIPv4("127.0.0.1"); // true
 * ```
 */
export function isIPv4(text: string): boolean {
  if (!IPV4_RE.test(text)) return false;
  return text.split(".").every((part) =>
    Number(part) <= 255 && (part === "0" || !part.startsWith("0"))
  );
}

/**
 * Whether a string is an IPv6 literal (optionally with an embedded IPv4 tail).
 *
 * @param text Candidate address, without brackets.
 * @returns True when it parses as IPv6.
 * @example
 * ```ts
 * isIPv6("::1"); // true
 * ```
 */
export function isIPv6(text: string): boolean {
  return parseIPv6(text) !== undefined;
}

/**
 * Parse an IPv6 literal into its eight 16-bit groups.
 *
 * @param text Address without brackets, e.g. `::1` or `::ffff:10.0.0.1`.
 * @returns The groups, or `undefined` when the text is not IPv6.
 * @example
 * ```ts
 * parseIPv6("::1"); // [0, 0, 0, 0, 0, 0, 0, 1]
 * ```
 */
export function parseIPv6(text: string): number[] | undefined {
  const zone = text.indexOf("%");
  const body = zone >= 0 ? text.slice(0, zone) : text;
  if (body.length === 0 || body.length > 45) return undefined;
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const parseSide = (side: string): number[] | undefined => {
    if (side === "") return [];
    const out: number[] = [];
    const parts = side.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes(".")) {
        if (!isIPv4(part)) return undefined;
        const [a, b, c, d] = part.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(part)) return undefined;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = parseSide(halves[0]!);
  if (head === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const tail = parseSide(halves[1]!);
  if (tail === undefined || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Format eight IPv6 groups in the RFC 5952 canonical form (lower case, the longest run of
 * two or more zero groups as `::`, IPv4-mapped addresses with a dotted tail, as inet_ntop).
 *
 * @param groups Eight 16-bit groups, as {@linkcode parseIPv6} returns.
 * @returns The address text, without brackets.
 * @example
 * ```ts
 * formatIPv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]); // "2001:db8::1"
 * ```
 */
export function formatIPv6(groups: readonly number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    // IPv4-mapped: written with a dotted tail, as inet_ntop does.
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}
