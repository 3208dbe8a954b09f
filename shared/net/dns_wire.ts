/**
 * DNS wire format (RFC 1035, SRV from RFC 2782, AAAA from RFC 3596): encode one query, decode a
 * response's answer and additional sections with their TTLs. Pure functions; the transport is
 * in `dns.ts`. Only what service discovery needs: A, AAAA, SRV and CNAME records are decoded,
 * others are kept as raw bytes.
 *
 * @module
 */

import { formatIPv6 } from "./address.ts";

/** Record types the client asks for or reads. */
export const DNS_TYPE = { A: 1, CNAME: 5, AAAA: 28, SRV: 33, OPT: 41 } as const;
/** A record type number. */
export type DnsType = typeof DNS_TYPE[keyof typeof DNS_TYPE];

/** Response codes that matter here. */
export const DNS_RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** Thrown for bytes that are not a well-formed DNS message. */
export class DnsFormatError extends Error {
  /**
   * A malformed message.
   *
   * @param reason What is wrong, with the offset.
   */
  constructor(reason: string) {
    super(`Cannot decode DNS message: ${reason}`);
    this.name = "DnsFormatError";
  }
}

/** SRV record data. */
export interface SrvData {
  /** Lower is preferred. */
  priority: number;
  /** Relative share among records of one priority. */
  weight: number;
  /** The service's port. */
  port: number;
  /** The host providing the service (no trailing dot). */
  target: string;
}

/** One resource record. */
export interface DnsRecord {
  /** Owner name, lower case, no trailing dot. */
  name: string;
  /** Type number. */
  type: number;
  /** Seconds the record may be cached. */
  ttl: number;
  /** An address (A, AAAA), a name (CNAME), SRV data, or the raw bytes of other types. */
  data: string | SrvData | Uint8Array;
}

/** A decoded response. */
export interface DnsMessage {
  /** Query id. */
  id: number;
  /** Response code (0 NOERROR, 3 NXDOMAIN, ...). */
  rcode: number;
  /** The TC bit: the answer did not fit (ask again over TCP). */
  truncated: boolean;
  /** Whether the QR bit is set. */
  response: boolean;
  /** The answer section. */
  answers: DnsRecord[];
  /** The additional section (SRV targets' addresses often come here). */
  additionals: DnsRecord[];
}

const HEADER = 12;
const FLAG_RD = 0x0100;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const CLASS_IN = 1;
/** UDP payload size we advertise with EDNS(0), so large SRV sets fit without TCP. */
export const EDNS_UDP_SIZE = 4096;
const MAX_LABEL = 63;
const MAX_NAME = 253;
const MAX_POINTERS = 64;

/**
 * Encode a recursive query for one name and type, with an EDNS(0) OPT record.
 *
 * @param id Query id (0-65535).
 * @param name Domain name (a trailing dot is fine).
 * @param type Record type, e.g. `DNS_TYPE.SRV`.
 * @returns The message bytes.
 * @throws {RangeError} When the name has an empty or over-long label.
 * @example
 * ```ts
 * const query = encodeDnsQuery(1, "_echo._tcp.service.consul", DNS_TYPE.SRV);
 * ```
 */
export function encodeDnsQuery(id: number, name: string, type: number): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".").map((l) => new TextEncoder().encode(l));
  if (name.length > MAX_NAME || labels.some((l) => l.length === 0 || l.length > MAX_LABEL)) {
    throw new RangeError(`Cannot query DNS: expected a domain name, got '${name}'`);
  }
  const nameLen = labels.reduce((n, l) => n + 1 + l.length, 1);
  const opt = 11;
  const out = new Uint8Array(HEADER + nameLen + 4 + opt);
  const view = new DataView(out.buffer);
  view.setUint16(0, id);
  view.setUint16(2, FLAG_RD);
  view.setUint16(4, 1); // QDCOUNT
  view.setUint16(10, 1); // ARCOUNT: the OPT record
  let off = HEADER;
  for (const label of labels) {
    out[off++] = label.length;
    out.set(label, off);
    off += label.length;
  }
  out[off++] = 0;
  view.setUint16(off, type);
  view.setUint16(off + 2, CLASS_IN);
  off += 4;
  // OPT: root name, type 41, class = UDP size, TTL 0, no data.
  out[off] = 0;
  view.setUint16(off + 1, DNS_TYPE.OPT);
  view.setUint16(off + 3, EDNS_UDP_SIZE);
  return out;
}

/**
 * Decode a response.
 *
 * @param bytes The message.
 * @returns Header fields, answers and additionals (OPT records left out).
 * @throws {DnsFormatError} When the bytes are not a well-formed message.
 * @example
 * ```ts
 * const message = decodeDnsMessage(reply);
 * for (const r of message.answers) console.log(r.name, r.ttl, r.data);
 * ```
 */
export function decodeDnsMessage(bytes: Uint8Array): DnsMessage {
  if (bytes.length < HEADER) throw new DnsFormatError(`${bytes.length} bytes, header needs 12`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint16(2);
  const counts = [view.getUint16(4), view.getUint16(6), view.getUint16(8), view.getUint16(10)];
  let off = HEADER;
  for (let i = 0; i < counts[0]!; i++) {
    off = readName(bytes, off).next + 4;
    if (off > bytes.length) throw new DnsFormatError("question runs past the end");
  }
  const section = (count: number): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      const record = readRecord(bytes, view, off);
      off = record.next;
      if (record.record.type !== DNS_TYPE.OPT) out.push(record.record);
    }
    return out;
  };
  const answers = section(counts[1]!);
  section(counts[2]!); // authority: not needed
  const additionals = section(counts[3]!);
  return {
    id: view.getUint16(0),
    rcode: flags & 0x000f,
    truncated: (flags & FLAG_TC) !== 0,
    response: (flags & FLAG_QR) !== 0,
    answers,
    additionals,
  };
}

function readRecord(
  bytes: Uint8Array,
  view: DataView,
  start: number,
): { record: DnsRecord; next: number } {
  const { name, next } = readName(bytes, start);
  if (next + 10 > bytes.length) throw new DnsFormatError(`record at ${start} runs past the end`);
  const type = view.getUint16(next);
  const ttl = view.getUint32(next + 4);
  const length = view.getUint16(next + 8);
  const rdata = next + 10;
  const end = rdata + length;
  if (end > bytes.length) throw new DnsFormatError(`record data at ${rdata} runs past the end`);
  let data: DnsRecord["data"];
  if (type === DNS_TYPE.A && length === 4) {
    data = [...bytes.subarray(rdata, end)].join(".");
  } else if (type === DNS_TYPE.AAAA && length === 16) {
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(view.getUint16(rdata + i));
    data = formatIPv6(groups);
  } else if (type === DNS_TYPE.SRV && length >= 7) {
    data = {
      priority: view.getUint16(rdata),
      weight: view.getUint16(rdata + 2),
      port: view.getUint16(rdata + 4),
      target: readName(bytes, rdata + 6).name,
    };
  } else if (type === DNS_TYPE.CNAME) {
    data = readName(bytes, rdata).name;
  } else {
    data = bytes.slice(rdata, end);
  }
  // TTLs with the top bit set are treated as 0 (RFC 2181 section 8).
  return { record: { name, type, ttl: ttl > 0x7fffffff ? 0 : ttl, data }, next: end };
}

/** Read a possibly compressed name; `next` is the offset after it at the original position. */
function readName(bytes: Uint8Array, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let off = start;
  let next = -1;
  let jumps = 0;
  for (;;) {
    if (off >= bytes.length) throw new DnsFormatError(`name at ${start} runs past the end`);
    const len = bytes[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= bytes.length) throw new DnsFormatError(`pointer at ${off} is cut`);
      if (++jumps > MAX_POINTERS) throw new DnsFormatError(`name at ${start} loops`);
      if (next < 0) next = off + 2;
      off = ((len & 0x3f) << 8) | bytes[off + 1]!;
      continue;
    }
    if (len > MAX_LABEL) throw new DnsFormatError(`label length ${len} at ${off}`);
    if (off + 1 + len > bytes.length) throw new DnsFormatError(`label at ${off} runs past the end`);
    labels.push(new TextDecoder().decode(bytes.subarray(off + 1, off + 1 + len)));
    off += 1 + len;
  }
  return { name: labels.join(".").toLowerCase(), next: next < 0 ? off : next };
}
