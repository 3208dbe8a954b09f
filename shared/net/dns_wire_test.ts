import assert from "node:assert/strict";
import { concatBytes, seededRandom } from "@monkey/testing";
import {
  decodeDnsMessage,
  DNS_TYPE,
  DnsFormatError,
  encodeDnsQuery,
  type SrvData,
} from "./dns_wire.ts";

/** A response to `query` with the given answer records (already encoded). */
function response(query: Uint8Array, rcode: number, answers: Uint8Array[], flags = 0x8180) {
  const body = query.subarray(12, query.length - 11); // question only, no OPT
  const head = new Uint8Array(12);
  const view = new DataView(head.buffer);
  view.setUint16(0, (query[0]! << 8) | query[1]!);
  view.setUint16(2, flags | rcode);
  view.setUint16(4, 1);
  view.setUint16(6, answers.length);
  return concatBytes(head, body, ...answers);
}

/** A record whose owner is a pointer to the question name (offset 12). */
function record(type: number, ttl: number, rdata: number[]): Uint8Array {
  const out = new Uint8Array(12 + rdata.length);
  const view = new DataView(out.buffer);
  out[0] = 0xc0;
  out[1] = 12;
  view.setUint16(2, type);
  view.setUint16(4, 1);
  view.setUint32(6, ttl);
  view.setUint16(10, rdata.length);
  out.set(rdata, 12);
  return out;
}

Deno.test("encodeDnsQuery writes a recursive question with an EDNS(0) OPT record", () => {
  const q = encodeDnsQuery(0x1234, "_echo._tcp.Service.consul.", DNS_TYPE.SRV);
  assert.deepEqual([...q.subarray(0, 12)], [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  assert.equal(new TextDecoder().decode(q.subarray(13, 18)), "_echo");
  // type SRV, class IN, then OPT with a 4096-byte UDP size
  const tail = [...q.subarray(q.length - 15)];
  assert.deepEqual(tail, [0, 33, 0, 1, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => encodeDnsQuery(1, "a..b", DNS_TYPE.A), /expected a domain name, got 'a..b'/);
  assert.throws(() => encodeDnsQuery(1, `${"x".repeat(64)}.com`, DNS_TYPE.A), RangeError);
});

Deno.test("decodeDnsMessage reads A, AAAA and SRV records with TTLs and compressed names", () => {
  const q = encodeDnsQuery(7, "svc.test", DNS_TYPE.SRV);
  const srv = record(DNS_TYPE.SRV, 30, [0, 1, 0, 20, 0x1f, 0x91, 0xc0, 12]); // target: pointer
  const a = record(DNS_TYPE.A, 5, [127, 0, 0, 2]);
  const aaaa = record(DNS_TYPE.AAAA, 0x80000000, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const m = decodeDnsMessage(response(q, 0, [srv, a, aaaa]));
  assert.equal(m.id, 7);
  assert.equal(m.response, true);
  assert.equal(m.rcode, 0);
  assert.equal(m.answers.length, 3);
  const data = m.answers[0]!.data as SrvData;
  assert.deepEqual(data, { priority: 1, weight: 20, port: 8081, target: "svc.test" });
  assert.equal(m.answers[0]!.ttl, 30);
  assert.equal(m.answers[1]!.data, "127.0.0.2");
  assert.equal(m.answers[2]!.data, "::1");
  assert.equal(m.answers[2]!.ttl, 0, "a TTL with the top bit set counts as 0");
  assert.equal(decodeDnsMessage(response(q, 3, [])).rcode, 3);
  assert.equal(decodeDnsMessage(response(q, 0, [], 0x8380)).truncated, true);
});

Deno.test("decodeDnsMessage refuses pointer loops and messages cut short", () => {
  const q = encodeDnsQuery(7, "svc.test", DNS_TYPE.A);
  const loop = response(q, 0, []);
  loop[12] = 0xc0;
  loop[13] = 12; // the question name points at itself
  assert.throws(() => decodeDnsMessage(loop), /loops/);
  const whole = response(q, 0, [record(DNS_TYPE.A, 5, [1, 2, 3, 4])]);
  for (let cut = 0; cut < whole.length; cut++) {
    assert.throws(() => decodeDnsMessage(whole.subarray(0, cut)), DnsFormatError, `cut ${cut}`);
  }
});

Deno.test("decodeDnsMessage throws only DnsFormatError on random bytes", () => {
  const random = seededRandom(53);
  const base = response(encodeDnsQuery(9, "a.test", DNS_TYPE.A), 0, [
    record(DNS_TYPE.A, 5, [1, 2, 3, 4]),
  ]);
  for (let i = 0; i < 3000; i++) {
    const bytes = base.slice();
    for (let f = 0; f < 3; f++) bytes[Math.floor(random() * bytes.length)] = random() * 256;
    try {
      decodeDnsMessage(bytes);
    } catch (error) {
      assert.ok(error instanceof DnsFormatError, String(error));
    }
  }
});
