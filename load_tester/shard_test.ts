import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { parseShard, shardScenario } from "./shard.ts";
import { parseStartAt, waitUntil } from "./start_at.ts";
import { scenario } from "./_testing.ts";

Deno.test("parseShard() reads I/N 0-based and auto/N as JOB_COMPLETION_INDEX itself", () => {
  assert.deepEqual(parseShard("0/2"), { index: 0, count: 2 });
  assert.deepEqual(parseShard("1/2"), { index: 1, count: 2 });
  assert.deepEqual(parseShard("0/1"), { index: 0, count: 1 });
  assert.deepEqual(parseShard("2/3"), { index: 2, count: 3 });
  assert.deepEqual(parseShard("auto/4", () => "3"), { index: 3, count: 4 });
  assert.deepEqual(parseShard("auto/4", () => "0"), { index: 0, count: 4 });
  // The same pod index, given by hand or by the Job, is the same shard.
  for (const k of [0, 1, 2]) {
    assert.deepEqual(
      parseShard(`${k}/3`),
      parseShard("auto/3", () => `${k}`),
    );
  }
});

Deno.test("parseShard() refuses I = N (the 1-based last shard) naming the range 0..N-1", () => {
  assert.throws(
    () => parseShard("2/2"),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        "Cannot parse flag --shard: I must be 0..1 for N = 2 (0-based, like JOB_COMPLETION_INDEX), " +
          "got '2/2'",
  );
  assert.throws(() => parseShard("3/3"), /I must be 0\.\.2 for N = 3/);
});

Deno.test("parseShard() refuses bad specs with one line naming the value", () => {
  for (
    const bad of ["3/2", "2/2", "1/1", "x/2", "0/0", "1/", "/2", "1/2/3", "-1/2", "auto/0", ""]
  ) {
    assert.throws(() => parseShard(bad, () => "0"), (e: unknown) => {
      assert.ok(e instanceof ConfigError, bad);
      assert.match(e.message, /^Cannot parse flag --shard: .*got '.*'$/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
  assert.throws(() => parseShard("auto/2", () => undefined), /JOB_COMPLETION_INDEX.*unset/);
  assert.throws(() => parseShard("auto/2", () => "2"), /must be 0\.\.1 .*got '2'/);
  assert.throws(() => parseShard("auto/2", () => "one"), /got 'one'/);
});

Deno.test("shardScenario() splits connections and rate so the shards add up exactly", () => {
  const cases = [[10, 3, 1000], [2, 4, 500], [7, 7, 0], [1, 3, 99.5], [100, 6, 12345.25]];
  for (const [connections, count, rate] of cases) {
    const whole = scenario({ connections: connections!, rate: rate! });
    const parts = Array.from(
      { length: count! },
      (_, index) => shardScenario(whole, { index, count: count! }),
    );
    const conns = parts.map((p) => p.scenario.connections);
    assert.equal(conns.reduce((a, b) => a + b), connections, `${connections}/${count}`);
    assert.ok(Math.max(...conns) - Math.min(...conns) <= 1);
    assert.ok(conns.every((c, i) => i === 0 || c <= conns[i - 1]!), "remainder on first shards");
    if (connections! % count! !== 0) {
      assert.ok(conns[0]! > conns[count! - 1]!, "shard 0 has one more");
    }
    assert.equal(parts.map((p) => p.scenario.rate).reduce((a, b) => a + b), rate);
    for (const p of parts) {
      if (p.scenario.connections === 0) assert.equal(p.scenario.rate, 0);
      assert.deepEqual(p.totals, { connections, rate });
    }
  }
});

Deno.test("shardScenario() gives shard 0 the remainder and the rate's fraction", () => {
  const whole = scenario({ connections: 5, rate: 100.5 });
  const part = (index: number) => shardScenario(whole, { index, count: 2 }).scenario;
  assert.deepEqual([part(0).connections, part(0).rate], [3, 50.5]);
  assert.deepEqual([part(1).connections, part(1).rate], [2, 50]);
  const few = scenario({ connections: 2, rate: 10 });
  const parts = [0, 1, 2].map((index) => shardScenario(few, { index, count: 3 }).scenario);
  assert.deepEqual(parts.map((p) => p.connections), [1, 1, 0], "the last shard is left empty");
  assert.deepEqual(parts.map((p) => p.rate), [5, 5, 0]);
});

Deno.test("parseStartAt() takes ISO 8601 and +duration, refuses the rest", () => {
  const now = Date.parse("2026-11-28T10:00:00Z");
  assert.equal(parseStartAt("+30s", now), now + 30_000);
  assert.equal(parseStartAt("+2m", now), now + 120_000);
  assert.equal(parseStartAt("2026-11-28T10:00:05Z", now), now + 5000);
  assert.equal(parseStartAt("2026-11-28T11:00:05+01:00", now), now + 5000);
  for (const bad of ["soon", "+x", "10:00", "2026-13-45T99:00:00Z", "+2d"]) {
    assert.throws(() => parseStartAt(bad, now), /^ConfigError: Cannot parse flag --start-at/);
  }
  assert.throws(() => parseStartAt("+25h", now), /more than a day away/);
});

Deno.test("waitUntil() returns at the instant and counts down", async () => {
  const ticks: number[] = [];
  const at = Date.now() + 120;
  assert.equal(await waitUntil(at, { onTick: (s) => ticks.push(s) }), true);
  assert.ok(Date.now() >= at);
  assert.deepEqual(ticks, [1]);
  assert.equal(await waitUntil(Date.now() - 5), true);
  const controller = new AbortController();
  const waiting = waitUntil(Date.now() + 60_000, { signal: controller.signal });
  controller.abort();
  assert.equal(await waiting, false);
});
