import assert from "node:assert/strict";
import { formatBytes, formatMicros, parseDuration, parseSize } from "./units.ts";

Deno.test("parseDuration() reads seconds with optional units", () => {
  assert.equal(parseDuration("10"), 10);
  assert.equal(parseDuration("10s"), 10);
  assert.equal(parseDuration("2m"), 120);
  assert.equal(parseDuration("500ms"), 0.5);
  assert.equal(parseDuration("1h"), 3600);
  assert.equal(parseDuration("ten"), undefined);
  assert.equal(parseDuration("-1s"), undefined);
});

Deno.test("parseSize() reads bytes with binary and decimal units", () => {
  assert.equal(parseSize("64"), 64);
  assert.equal(parseSize("1KiB"), 1024);
  assert.equal(parseSize("64KiB"), 65536);
  assert.equal(parseSize("1MB"), 1_000_000);
  assert.equal(parseSize("2mib"), 2 * 1024 * 1024);
  assert.equal(parseSize("1 parsec"), undefined);
});

Deno.test("formatBytes() writes the seed's units", () => {
  assert.equal(formatBytes(512), "512B");
  assert.equal(formatBytes(800 * 1024), "800.0KB");
  assert.equal(formatBytes(1.5 * 1024 * 1024), "1.5MB");
  assert.equal(formatMicros(850), "850µs");
  assert.equal(formatMicros(1250), "1.25ms");
  assert.equal(formatMicros(3_200_000), "3.20s");
});
