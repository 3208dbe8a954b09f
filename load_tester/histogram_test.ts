import assert from "node:assert/strict";
import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  MAX_TRACKABLE_US,
  mergeHistograms,
  recordMicros,
  summarize,
} from "./histogram.ts";

function samples(n: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 10 + (x % 50_000) + (x % 97 === 0 ? 2_000_000 : 0);
  });
}

Deno.test("mergeHistograms() equals one histogram of all samples", () => {
  const parts = [samples(5000, 1), samples(3000, 2), samples(7000, 3)];
  const single = createHistogram();
  for (const part of parts) for (const v of part) recordMicros(single, v);
  const merged = mergeHistograms(parts.map((part) => {
    const h = createHistogram();
    for (const v of part) recordMicros(h, v);
    return decodeHistogram(encodeHistogram(h));
  }));
  assert.equal(merged.totalCount, 15000);
  assert.deepEqual(summarize(merged), summarize(single));
  for (const p of [1, 10, 33.3, 50, 75, 90, 99, 99.9, 99.99, 100]) {
    assert.equal(merged.getValueAtPercentile(p), single.getValueAtPercentile(p), `p${p}`);
  }
  assert.equal(encodeHistogram(merged), encodeHistogram(single));
});

Deno.test("summarize() reports 3 significant digits and zeros when empty", () => {
  assert.deepEqual(summarize(createHistogram()), {
    min: 0,
    mean: 0,
    p50: 0,
    p90: 0,
    p95: 0,
    p99: 0,
    p999: 0,
    max: 0,
  });
  const h = createHistogram();
  for (let v = 1; v <= 1000; v++) recordMicros(h, v * 1000);
  const s = summarize(h);
  assert.ok(Math.abs(s.p50 - 500_000) <= 500, `${s.p50}`);
  assert.ok(Math.abs(s.p99 - 990_000) <= 990, `${s.p99}`);
  assert.ok(Math.abs(s.min - 1000) <= 1);
});

Deno.test("recordMicros() clamps values outside the trackable range", () => {
  const h = createHistogram();
  recordMicros(h, -5);
  recordMicros(h, MAX_TRACKABLE_US * 10);
  assert.equal(h.totalCount, 2);
  assert.ok(h.maxValue >= MAX_TRACKABLE_US * 0.999);
});

Deno.test("a histogram's memory does not grow with the number of samples", () => {
  const h = createHistogram();
  const before = h.estimatedFootprintInBytes;
  for (let i = 0; i < 200_000; i++) recordMicros(h, (i % 5000) + 1);
  assert.equal(h.estimatedFootprintInBytes, before);
});

Deno.test("createHistogram()'s integer slot lookup matches the library's for every magnitude", () => {
  const h = createHistogram() as unknown as { countsArrayIndex(v: number): number };
  const library = Object.getPrototypeOf(h).countsArrayIndex as (v: number) => number;
  assert.notEqual(h.countsArrayIndex, library);
  const values = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 123_456, 3_600_000_000, 2 ** 32 - 1];
  for (let k = 0; k < 32; k++) values.push(2 ** k - 1, 2 ** k, 2 ** k + 1, 3 * 2 ** k);
  for (let v = 0; v < 70_000; v += 7) values.push(v);
  for (const v of values) {
    if (v >= 2 ** 32) continue;
    assert.equal(h.countsArrayIndex(v), library.call(h, v), `value ${v}`);
  }
});
