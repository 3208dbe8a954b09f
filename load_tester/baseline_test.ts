import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import { ServiceError } from "@monkey/shared";
import { compareWithBaseline, readReport, regressions } from "./baseline.ts";
import { fakeReport, fakeResult } from "./_testing.ts";

const NEEDS = requires("read", "write");

const fast = fakeResult("s", Array.from({ length: 1000 }, () => 100));
const slow = fakeResult("s", Array.from({ length: 800 }, () => 130));

Deno.test("compareWithBaseline() gives the change in RPS and p99", () => {
  const [row] = compareWithBaseline([slow], fakeReport([fast]));
  assert.equal(row!.rps_change_pct, -20);
  assert.equal(row!.p99_change_pct, 30);
  assert.deepEqual(compareWithBaseline([slow], fakeReport([])), []);
});

Deno.test("regressions() flags RPS falls and p99 rises beyond the threshold only", () => {
  const rows = compareWithBaseline([slow], fakeReport([fast]));
  assert.equal(regressions(rows, 10).length, 2);
  assert.equal(regressions(rows, 25).length, 1);
  assert.equal(regressions(rows, 50).length, 0);
  const better = compareWithBaseline([fast], fakeReport([slow]));
  assert.deepEqual(regressions(better, 1), []);
});

Deno.test("readReport() rejects files that are not results", NEEDS, async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify({ scenarios: [{ name: 1 }] }));
    await assert.rejects(readReport(path), ServiceError);
    await Deno.writeTextFile(path, "{");
    await assert.rejects(readReport(path), /invalid JSON/);
    await Deno.writeTextFile(path, JSON.stringify(fakeReport([fast])));
    assert.equal((await readReport(path)).scenarios[0]!.requests, 1000);
  } finally {
    await Deno.remove(path);
  }
  await assert.rejects(readReport("/nonexistent.json"), /not found/);
});
