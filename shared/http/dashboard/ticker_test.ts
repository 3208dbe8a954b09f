import assert from "node:assert/strict";
import { Ticker } from "./ticker.ts";

Deno.test("Ticker produces nothing and runs no timer while nobody subscribes", () => {
  let produced = 0;
  const ticker = new Ticker({ produce: () => ++produced, intervalMs: 10 });
  assert.equal(ticker.running, false);
  assert.equal(produced, 0);
  const stop = ticker.subscribe(() => {});
  assert.equal(ticker.running, true);
  stop();
  stop(); // idempotent
  assert.equal(ticker.running, false);
  assert.equal(ticker.subscribers, 0);
});

Deno.test("Ticker gives every subscriber the same update, produced once per tick", async () => {
  let produced = 0;
  const ticker = new Ticker({ produce: () => ++produced, intervalMs: 20 });
  const a: number[] = [];
  const b: number[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  const stopA = ticker.subscribe((n) => a.push(n));
  const stopB = ticker.subscribe((n) => {
    b.push(n);
    if (b.length === 3) resolve();
  });
  await promise;
  stopA();
  stopB();
  // Each got an immediate update on subscribing, then the shared ticks.
  assert.deepEqual(b.slice(1), a.slice(-2));
  assert.equal(produced, ticker.ticks);
  assert.ok(produced <= a.length + 1, `${produced} updates produced for ${a.length} + ${b.length}`);
});

Deno.test("Ticker skips an update whose snapshot throws and keeps running", async () => {
  let calls = 0;
  const ticker = new Ticker({
    produce: () => {
      if (++calls === 1) throw new Error("snapshot failed");
      return calls;
    },
    intervalMs: 10,
  });
  const { promise, resolve } = Promise.withResolvers<number>();
  const stop = ticker.subscribe(resolve);
  assert.equal(await promise, 2);
  stop();
});

Deno.test("Ticker refuses a non-positive interval, naming the value", () => {
  assert.throws(
    () => new Ticker({ produce: () => 1, intervalMs: 0 }),
    /intervalMs must be > 0, got 0/,
  );
});
