import assert from "node:assert/strict";
import { AdaptiveBuffer, INITIAL_BUFFER, MAX_BUFFER } from "./copy.ts";

Deno.test("AdaptiveBuffer grows while reads fill it, up to MAX_BUFFER", () => {
  const buffer = new AdaptiveBuffer();
  assert.equal(buffer.buf.length, INITIAL_BUFFER);
  while (buffer.buf.length < MAX_BUFFER) {
    const before = buffer.buf.length;
    buffer.afterRead(before);
    assert.ok(buffer.buf.length > before);
  }
  buffer.afterRead(MAX_BUFFER);
  assert.equal(buffer.buf.length, MAX_BUFFER, "never beyond the maximum");
});

Deno.test("AdaptiveBuffer shrinks back after a run of small reads, not after one", () => {
  const buffer = new AdaptiveBuffer();
  buffer.afterRead(INITIAL_BUFFER);
  buffer.afterRead(buffer.buf.length);
  const grown = buffer.buf.length;
  buffer.afterRead(10);
  assert.equal(buffer.buf.length, grown, "one small read keeps the buffer");
  for (let i = 0; i < 100 && buffer.buf.length === grown; i++) buffer.afterRead(10);
  assert.equal(buffer.buf.length, INITIAL_BUFFER);
});
