import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { parseShard, shardScenario } from "./shard.ts";
import { parseStartAt, waitUntil } from "./start_at.ts";
import { scenario } from "./_testing.ts";

Deno.test("parseShard() reads I/N and auto/N from JOB_COMPLETION_INDEX (0-based)", () => {
  assert.deepEqual(parseShard("2/3"), { index: 2, count: 3 });
  assert.deepEqual(parseShard("auto/4", () => "3"), { index: 4, count: 4 });
  assert.deepEqual(parseShard("auto/4", () => "0"), { index: 1, count: 4 });
});

Deno.test("parseShard() refuses bad specs with one line naming the value", () => {
  for (const bad of ["3/2", "x/2", "0/0", "0/2", "1/", "/2", "1/2/3", "-1/2", ""]) {
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
      (_, i) => shardScenario(whole, { index: i + 1, count: count! }),
    );
    const conns = parts.map((p) => p.scenario.connections);
    assert.equal(conns.reduce((a, b) => a + b), connections, `${connections}/${count}`);
    assert.ok(Math.max(...conns) - Math.min(...conns) <= 1);
    assert.ok(conns.every((c, i) => i === 0 || c <= conns[i - 1]!), "remainder on first shards");
    assert.equal(parts.map((p) => p.scenario.rate).reduce((a, b) => a + b), rate);
    for (const p of parts) {
      if (p.scenario.connections === 0) assert.equal(p.scenario.rate, 0);
      assert.deepEqual(p.totals, { connections, rate });
    }
  }
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
