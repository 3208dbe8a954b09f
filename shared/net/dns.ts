/**
 * A small DNS client: one question over UDP (`Deno.listenDatagram`, needs `--unstable-net`,
 * which the workspace enables), again over TCP when the answer is truncated, to a given
 * nameserver or the first of `/etc/resolv.conf`. Unlike `Deno.resolveDns` it returns the
 * records' TTLs, which service discovery needs to know when to ask again.
 *
 * @module
 */

import { formatAddress, type HostPort, isIPv4, isIPv6, parseAddress } from "./address.ts";
import {
  decodeDnsMessage,
  DNS_RCODE,
  DnsFormatError,
  type DnsMessage,
  encodeDnsQuery,
} from "./dns_wire.ts";

/** Why a query failed. */
export type DnsErrorKind =
  | "timeout"
  | "nxdomain"
  | "servfail"
  | "refused"
  | "network"
  | "malformed";

/** A failed query. */
export class DnsError extends Error {
  /** What went wrong. */
  readonly kind: DnsErrorKind;

  /**
   * A failed query.
   *
   * @param kind What went wrong.
   * @param message The full message (names the query and the nameserver).
   */
  constructor(kind: DnsErrorKind, message: string) {
    super(message);
    this.name = "DnsError";
    this.kind = kind;
  }
}

/** Options for {@linkcode DnsClient}. */
export interface DnsClientOptions {
  /** Nameservers, tried in order. @default the nameservers of /etc/resolv.conf */
  nameservers?: readonly HostPort[];
  /** Milliseconds to wait for one answer. @default 2000 */
  timeoutMs?: number;
  /** Rounds over the nameservers before giving up. @default 2 */
  attempts?: number;
}

/** Default timeout of one DNS query. */
export const DNS_TIMEOUT_MS = 2000;
const DNS_PORT = 53;
const MAX_UDP = 65_535;
const TCP_LENGTH = 2;

/**
 * Nameservers listed in resolv.conf text (`nameserver ADDR` lines), port 53.
 *
 * @param text The file's content.
 * @returns The nameservers, in order.
 * @example
 * ```ts
 * parseResolvConf("nameserver 10.0.0.2\n"); // [{ hostname: "10.0.0.2", port: 53 }]
 * ```
 */
export function parseResolvConf(text: string): HostPort[] {
  const out: HostPort[] = [];
  for (const line of text.split("\n")) {
    const [keyword, addr] = line.trim().split(/\s+/);
    if (keyword !== "nameserver" || addr === undefined) continue;
    const host = addr.split("%")[0]!;
    if (isIPv4(host) || isIPv6(host)) out.push({ hostname: host, port: DNS_PORT });
  }
  return out;
}

/**
 * Parse a `--resolver` value: `host:port`, or a bare IP (port 53).
 *
 * @param text E.g. `127.0.0.1:8600` or `10.0.0.2`.
 * @returns The nameserver.
 * @throws {AddressError} When the text is neither.
 * @example
 * ```ts
 * parseNameserver("10.0.0.2"); // { hostname: "10.0.0.2", port: 53 }
 * ```
 */
export function parseNameserver(text: string): HostPort {
  if (isIPv4(text) || isIPv6(text)) return { hostname: text, port: DNS_PORT };
  return parseAddress(text);
}

/**
 * Sends queries and returns decoded answers.
 *
 * @example
 * ```ts
 * const client = new DnsClient({ nameservers: [{ hostname: "127.0.0.1", port: 8600 }] });
 * const reply = await client.query("_echo._tcp.service.consul", DNS_TYPE.SRV);
 * ```
 */
export class DnsClient {
  #nameservers: readonly HostPort[] | undefined;
  #timeoutMs: number;
  #attempts: number;

  /**
   * Create a client; nothing is read or sent yet.
   *
   * @param options Nameservers, timeout and attempts.
   */
  constructor(options: DnsClientOptions = {}) {
    this.#nameservers = options.nameservers?.length ? options.nameservers : undefined;
    this.#timeoutMs = options.timeoutMs ?? DNS_TIMEOUT_MS;
    this.#attempts = options.attempts ?? 2;
  }

  /**
   * Ask one question. NXDOMAIN, SERVFAIL and REFUSED are errors; an empty NOERROR answer is not.
   *
   * @param name The domain name.
   * @param type The record type (`DNS_TYPE.SRV`, ...).
   * @param signal Aborting ends the query with a `timeout` error.
   * @returns The decoded response.
   * @throws {DnsError} On timeout, a network error, a malformed reply or an error rcode.
   */
  async query(name: string, type: number, signal?: AbortSignal): Promise<DnsMessage> {
    const servers = this.#nameservers ?? (await systemNameservers());
    let last: DnsError | undefined;
    for (let round = 0; round < this.#attempts; round++) {
      for (const server of servers) {
        if (signal?.aborted) throw new DnsError("timeout", `DNS query for ${name} aborted`);
        try {
          return checkRcode(await this.#ask(server, name, type, signal), name, server);
        } catch (error) {
          if (!(error instanceof DnsError)) throw error;
          // An authoritative "no such name" needs no second opinion.
          if (error.kind === "nxdomain") throw error;
          last = error;
        }
      }
    }
    throw last ?? new DnsError("network", `DNS query for ${name}: no nameserver`);
  }

  async #ask(server: HostPort, name: string, type: number, signal?: AbortSignal) {
    const id = Math.floor(Math.random() * 0x10000);
    const query = encodeDnsQuery(id, name, type);
    const where = `${name} (type ${type}) at ${formatAddress(server)}`;
    const reply = await withTimeout(
      this.#timeoutMs,
      signal,
      where,
      (closers) => udpExchange(server, query, id, closers),
    );
    if (!reply.truncated) return reply;
    return await withTimeout(
      this.#timeoutMs,
      signal,
      where,
      (closers) => tcpExchange(server, query, id, closers),
    );
  }
}

/** The nameservers of /etc/resolv.conf. */
async function systemNameservers(): Promise<HostPort[]> {
  let text: string;
  try {
    text = await Deno.readTextFile("/etc/resolv.conf");
  } catch (error) {
    throw new DnsError(
      "network",
      `Cannot read /etc/resolv.conf for a nameserver (${(error as Error).message}); ` +
        `set --resolver host:port`,
    );
  }
  const servers = parseResolvConf(text);
  if (servers.length === 0) {
    throw new DnsError("network", "No nameserver in /etc/resolv.conf; set --resolver host:port");
  }
  return servers;
}

function checkRcode(reply: DnsMessage, name: string, server: HostPort): DnsMessage {
  const where = `for ${name} from ${formatAddress(server)}`;
  switch (reply.rcode) {
    case DNS_RCODE.NOERROR:
      return reply;
    case DNS_RCODE.NXDOMAIN:
      throw new DnsError("nxdomain", `NXDOMAIN ${where}: no such name`);
    case DNS_RCODE.REFUSED:
      throw new DnsError("refused", `REFUSED ${where}`);
    default:
      throw new DnsError("servfail", `rcode ${reply.rcode} ${where}`);
  }
}

type Closers = (() => void)[];

/** Run `exchange`; on timeout or abort close what it registered and throw a timeout. */
async function withTimeout(
  ms: number,
  signal: AbortSignal | undefined,
  where: string,
  exchange: (closers: Closers) => Promise<DnsMessage>,
): Promise<DnsMessage> {
  const closers: Closers = [];
  const timeout = Promise.withResolvers<never>();
  const fire = () => {
    for (const close of closers) close();
    timeout.reject(new DnsError("timeout", `DNS query ${where} timed out after ${ms} ms`));
  };
  const timer = setTimeout(fire, ms);
  signal?.addEventListener("abort", fire, { once: true });
  timeout.promise.catch(() => {});
  const work = exchange(closers);
  try {
    return await Promise.race([work, timeout.promise]);
  } catch (error) {
    if (error instanceof DnsError) throw error;
    if (error instanceof DnsFormatError) {
      throw new DnsError("malformed", `${error.message} (${where})`);
    }
    if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
      throw new DnsError("timeout", `DNS query ${where} timed out after ${ms} ms`);
    }
    throw new DnsError("network", `DNS query ${where} failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", fire);
    work.catch(() => {});
    for (const close of closers) close();
  }
}

async function udpExchange(
  server: HostPort,
  query: Uint8Array,
  id: number,
  closers: Closers,
): Promise<DnsMessage> {
  const loopback = server.hostname.startsWith("127.") || server.hostname === "::1";
  const v6 = isIPv6(server.hostname);
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: loopback ? (v6 ? "::1" : "127.0.0.1") : v6 ? "::" : "0.0.0.0",
    port: 0,
  });
  let closed = false;
  closers.push(() => {
    if (!closed) socket.close();
    closed = true;
  });
  await socket.send(query, { transport: "udp", ...server });
  for (;;) {
    const [bytes, from] = await socket.receive(new Uint8Array(MAX_UDP));
    const peer = from as Deno.NetAddr;
    // Ignore stray datagrams: another sender, or an old reply with another id.
    if (peer.port !== server.port || bytes.length < 2 || ((bytes[0]! << 8) | bytes[1]!) !== id) {
      continue;
    }
    const reply = decodeDnsMessage(bytes);
    if (reply.response) return reply;
  }
}

async function tcpExchange(
  server: HostPort,
  query: Uint8Array,
  id: number,
  closers: Closers,
): Promise<DnsMessage> {
  const conn = await Deno.connect({ ...server, transport: "tcp" });
  let closed = false;
  closers.push(() => {
    if (!closed) conn.close();
    closed = true;
  });
  const framed = new Uint8Array(TCP_LENGTH + query.length);
  new DataView(framed.buffer).setUint16(0, query.length);
  framed.set(query, TCP_LENGTH);
  let off = 0;
  while (off < framed.length) off += await conn.write(framed.subarray(off));
  const head = await readFull(conn, TCP_LENGTH);
  const reply = decodeDnsMessage(await readFull(conn, (head[0]! << 8) | head[1]!));
  if (reply.id !== id) throw new DnsFormatError(`reply id ${reply.id}, asked ${id}`);
  return reply;
}

async function readFull(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new DnsFormatError(`TCP reply ended after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}
