import assert from "node:assert/strict";
import { resultHistogram } from "./result.ts";
import { mergeReports, mergeResults } from "./result_merge.ts";
import { fakeReport, fakeResult } from "./_testing.ts";

const A = Array.from({ length: 1000 }, (_, i) => 100 + i);
const B = Array.from({ length: 3000 }, (_, i) => 5000 + i * 3);

Deno.test("mergeResults() adds histograms exactly and sums rates and connections", () => {
  const a = fakeResult("x", A, { duration: 2, mismatches: 3 });
  const b = fakeResult("x", B, { duration: 1 });
  const merged = mergeResults([a, b]);
  const all = fakeResult("x", [...A, ...B]);
  assert.equal(merged.requests, 4000);
  assert.equal(merged.rps, 500 + 3000);
  assert.equal(merged.connections, 20);
  assert.equal(merged.duration_secs, 2);
  assert.deepEqual(merged.latency_us, all.latency_us);
  assert.equal(resultHistogram(merged).totalCount, 4000);
  assert.equal(merged.errors.total, 3);
  assert.equal(merged.errors.by_kind["mismatch"], 3);
  assert.equal(merged.error_rate, Math.round((3 / 4003) * 1e6) / 1e6);
  assert.equal(merged.throughput_up_bps, a.throughput_up_bps + b.throughput_up_bps);
});

Deno.test("mergeReports() matches scenarios by name across machines", () => {
  const one = fakeReport([fakeResult("s1", A), fakeResult("s2", B)]);
  const two = fakeReport([fakeResult("s2", A), fakeResult("s1", B)]);
  const merged = mergeReports([one, two]);
  assert.deepEqual(merged.scenarios.map((s) => [s.name, s.requests]), [["s1", 4000], ["s2", 4000]]);
  assert.equal(merged.target, "127.0.0.1:3000");
  assert.throws(() => mergeReports([]));
});

Deno.test("mergeResults() adds the protocol fields: mix, status codes, samples, reconnects", () => {
  const http = (codes: Record<string, number>, sample: string) => {
    const r = fakeResult("h", A);
    r.protocol = "http";
    r.mix = [{ request: "GET /", requests: 600 }, { request: "GET /b", requests: 400 }];
    r.http_codes = codes;
    r.reconnects = 2;
    r.unfinished = 1;
    r.errors.samples = { http_status: [sample] };
    return r;
  };
  const merged = mergeResults([
    http({ "200": 1000, "404": 5 }, "HTTP/1.1 404 Not Found"),
    http({ "200": 1000, "500": 1 }, "HTTP/1.1 500 Oops"),
  ]);
  assert.equal(merged.protocol, "http");
  assert.deepEqual(merged.mix, [{ request: "GET /", requests: 1200 }, {
    request: "GET /b",
    requests: 800,
  }]);
  assert.deepEqual(merged.http_codes, { "200": 2000, "404": 5, "500": 1 });
  assert.deepEqual(merged.http_status, { "2xx": 2000, "4xx": 5, "5xx": 1 });
  assert.equal(merged.reconnects, 4);
  assert.equal(merged.unfinished, 2);
  assert.deepEqual(merged.errors.samples?.["http_status"], [
    "HTTP/1.1 404 Not Found",
    "HTTP/1.1 500 Oops",
  ]);
});
