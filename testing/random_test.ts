import assert from "node:assert/strict";
import { randomBytes, seededRandom } from "./random.ts";

Deno.test("seededRandom() replays the same sequence for the same seed, in [0, 1)", () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const first = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(Array.from({ length: 1000 }, () => b()), first);
  assert.ok(first.every((x) => x >= 0 && x < 1));
  const other = seededRandom(43);
  assert.notDeepEqual(Array.from({ length: 10 }, () => other()), first.slice(0, 10));
});

Deno.test("randomBytes() fills lengths beyond one getRandomValues call", () => {
  const bytes = randomBytes(200_000);
  assert.equal(bytes.length, 200_000);
  assert.ok(bytes.subarray(150_000).some((b) => b !== 0), "the tail is filled too");
});
