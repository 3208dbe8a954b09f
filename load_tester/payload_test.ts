import assert from "node:assert/strict";
import { PayloadChecker, randomPayload } from "./payload.ts";

Deno.test("randomPayload() is random and of the asked size, even above 64 KiB", () => {
  const a = randomPayload(100_000);
  const b = randomPayload(100_000);
  assert.equal(a.length, 100_000);
  assert.notDeepEqual(a, b);
  assert.ok(a.subarray(70_000).some((x) => x !== 0));
});

Deno.test("PayloadChecker.matches() catches one flipped bit anywhere, tail bytes included", () => {
  for (const size of [1, 3, 64, 1023, 1024]) {
    const checker = new PayloadChecker(randomPayload(size));
    checker.received.set(checker.payload);
    assert.ok(checker.matches(), `size ${size}`);
    for (const at of [0, Math.floor(size / 2), size - 1]) {
      checker.received[at]! ^= 0x10;
      assert.equal(checker.matches(), false, `size ${size} at ${at}`);
      checker.received[at]! ^= 0x10;
    }
  }
});

Deno.test("PayloadChecker copies a payload whose buffer is not word-aligned", () => {
  const backing = new Uint8Array(11);
  crypto.getRandomValues(backing);
  const payload = backing.subarray(1, 10);
  const checker = new PayloadChecker(payload);
  assert.deepEqual(checker.payload, payload);
  checker.received.set(payload);
  assert.ok(checker.matches());
});

Deno.test("PayloadChecker.matches() catches a flipped byte in large payloads (native compare)", () => {
  for (const size of [256, 4097, 65536, 100_000]) {
    const checker = new PayloadChecker(randomPayload(size));
    checker.received.set(checker.payload);
    assert.ok(checker.matches(), `size ${size}`);
    for (const at of [0, 255, Math.floor(size / 2), size - 1]) {
      checker.received[at]! ^= 0x80;
      assert.equal(checker.matches(), false, `size ${size} at ${at}`);
      checker.received[at]! ^= 0x80;
    }
  }
});
