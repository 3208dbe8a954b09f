import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { createHistogram, decodeHistogram, recordMicros, summarize } from "./histogram.ts";
import type { RunReport, ScenarioResult } from "./result.ts";
import { formatMatrixTable } from "./report.ts";
import { mergeShards } from "./shard_merge.ts";
import { runShard } from "./sharded_run.ts";
import { echoServer, fakeReport, fakeResult, scenario } from "./_testing.ts";

const SHARDS = 3;

Deno.test(
  "three shards against one echo server add up to the connections and the open-loop rate, in one window",
  async () => {
    const echo = echoServer();
    try {
      const whole = scenario({ name: "open", connections: 5, rate: 600, duration_secs: 1 });
      const startAt = Date.now() + 300;
      const notices: string[] = [];
      const reports = await Promise.all(
        Array.from({ length: SHARDS }, (_, i) =>
          runShard([whole], { target: echo.addr }, {
            shard: { index: i, count: SHARDS },
            startAt,
            notice: (line) => notices.push(line),
          })),
      );
      assert.deepEqual(notices, []);
      const parts = reports.map((r) => r.scenarios[0]!);
      assert.deepEqual(parts.map((p) => p.connections), [2, 2, 1], "shards 0 and 1: remainder");
      assert.deepEqual(parts.map((p) => p.target_rate), [200, 200, 200]);
      for (const r of reports) {
        assert.equal(r.start?.planned, new Date(startAt).toISOString());
        assert.ok(
          Math.abs(Date.parse(r.start!.actual) - startAt) < 50,
          `${r.start!.actual} vs ${new Date(startAt).toISOString()}`,
        );
      }
      const starts = parts.map((p) => Date.parse(p.shard!.window.start));
      assert.ok(Math.max(...starts) - Math.min(...starts) < 50, `window starts ${starts}`);
      const { report, warnings } = mergeShards(["a", "b", "c"], reports);
      // The windows' own check (1% of 1 s = 10 ms) is under a loaded machine's scheduling noise;
      // the 50 ms alignment is asserted above. No shard is missing.
      assert.deepEqual(warnings.filter((w) => !/windows differ/.test(w)), []);
      const merged = report.scenarios[0]!;
      assert.equal(merged.connections, 5);
      assert.equal(merged.target_rate, 600);
      assert.ok(Math.abs(merged.rps - 600) <= 30, `merged rps ${merged.rps}`);
      assert.equal(merged.requests, parts.reduce((n, p) => n + p.requests, 0));
      assert.deepEqual(merged.shards!.map((s) => s.index), [0, 1, 2]);
      assert.match(formatMatrixTable(report.scenarios), /↳ shard 2\/3\s+1\s/);
    } finally {
      await echo.close();
    }
  },
);

Deno.test("a shard with no connections says so, runs nothing and still merges", async () => {
  const notices: string[] = [];
  let runs = 0;
  const report = await runShard([scenario({ name: "tiny", connections: 2 })], {
    target: "127.0.0.1:9",
  }, {
    shard: { index: 2, count: 3 },
    notice: (line) => notices.push(line),
    run: () => {
      runs++;
      throw new Error("must not run");
    },
  });
  assert.equal(runs, 0);
  assert.deepEqual(notices, ["scenario tiny: shard 2/3 has 0 of 2 connections; it runs nothing"]);
  assert.equal(report.scenarios[0]!.connections, 0);
  assert.deepEqual(report.scenarios[0]!.shard?.totals, { connections: 2, rate: 0 });
});

function shardReport(index: number, count: number, result: ScenarioResult, offsetMs = 0) {
  const start = Date.parse("2026-11-28T10:00:00Z") + offsetMs;
  result.shard = {
    index,
    count,
    totals: { connections: 30, rate: 0 },
    window: {
      start: new Date(start).toISOString(),
      end: new Date(start + result.duration_secs * 1000).toISOString(),
    },
  };
  const report: RunReport = { ...fakeReport([result]), shard: { index, count } };
  return report;
}

Deno.test("merge of shards: the histogram equals one built from all samples", () => {
  const all: number[] = [];
  const reports = [0, 1, 2].map((index) => {
    const samples = Array.from(
      { length: 500 + index * 37 },
      (_, i) => 50 + ((i * 7919 * (index + 1)) % 20_000),
    );
    all.push(...samples);
    return shardReport(index, 3, fakeResult("s", samples));
  });
  const { report } = mergeShards(["a", "b", "c"], reports);
  const merged = report.scenarios[0]!;
  const direct = createHistogram();
  for (const v of all) recordMicros(direct, v);
  assert.deepEqual(merged.latency_us, summarize(direct));
  const decoded = decodeHistogram(merged.histogram);
  assert.equal(decoded.totalCount, all.length);
  for (const p of [50, 90, 99, 99.9, 100]) {
    assert.equal(decoded.getValueAtPercentile(p), direct.getValueAtPercentile(p), `p${p}`);
  }
  assert.equal(merged.requests, all.length);
});

Deno.test("merge of shards refuses the same shard twice and shards of different scenarios", () => {
  const a = shardReport(0, 2, fakeResult("s", [100]));
  const b = shardReport(0, 2, fakeResult("s", [200]));
  assert.throws(
    () => mergeShards(["a.json", "b.json"], [a, b]),
    (e: unknown) =>
      e instanceof ConfigError && /shard 0\/2 is already given by a\.json/.test(e.message),
  );
  const other = shardReport(1, 2, fakeResult("t", [200]));
  assert.throws(
    () => mergeShards(["a.json", "c.json"], [a, other]),
    /shards of different scenarios/,
  );
  const three = shardReport(1, 3, fakeResult("s", [200]));
  assert.throws(() => mergeShards(["a.json", "d.json"], [a, three]), /shard counts 2 and 3/);
  assert.throws(
    () => mergeShards(["a.json", "e.json"], [a, fakeReport([fakeResult("s", [1])])]),
    /not a --shard result/,
  );
  // A 1-based result (shard 2/2, from before shards were 0-based) is outside 0..N-1.
  const old = shardReport(2, 2, fakeResult("s", [200]));
  assert.throws(
    () => mergeShards(["a.json", "old.json"], [a, old]),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        "Cannot merge old.json: shard indexes are 0..1 (0-based) for 2 shards, got shard 2/2",
  );
});

Deno.test("merge of shards names missing shards and windows further apart than 1%", () => {
  const reports = [
    shardReport(1, 4, fakeResult("s", [100], { duration: 10 })),
    shardReport(3, 4, fakeResult("s", [100], { duration: 10 }), 99),
  ];
  assert.deepEqual(mergeShards(["b", "d"], reports).warnings, [
    "missing shards 0/4, 2/4 (merged 2 of 4): the merged result is not the whole scenario",
  ]);
  reports.push(shardReport(2, 4, fakeResult("s", [100], { duration: 10 }), 250));
  reports.push(shardReport(0, 4, fakeResult("s", [100], { duration: 10 })));
  const { warnings } = mergeShards(["b", "d", "c", "a"], reports);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /^scenario s: shards' measurement windows differ by 250 ms, more than 1% of the 10s/,
  );
});
