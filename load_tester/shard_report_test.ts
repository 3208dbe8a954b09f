import assert from "node:assert/strict";
import { requires } from "@monkey/testing";
import {
  browserSkipReason,
  browserTestName,
  launchBrowser,
  openWatchedPage,
} from "@monkey/testing/browser";
import { loadTestCli } from "./cli.ts";
import { formatCsv, formatMarkdown, formatMatrixTable } from "./report.ts";
import { reportHtml } from "./report_html.ts";
import type { RunReport } from "./result.ts";
import { mergeShards } from "./shard_merge.ts";
import { fakeReport, fakeResult, fakeShardReport } from "./_testing.ts";

const FILES = requires("read", "write");
const FAST_US = 100;
const SLOW_US = 5000;

/** `count` samples of `us` µs. */
function samples(count: number, us: number): number[] {
  return Array.from({ length: count }, () => us);
}

/** Shards 0 and 1: 600 requests on 6 connections, 300 on 4, one error in shard 1. */
function twoShards(): RunReport {
  return mergeShards(["a.json", "b.json"], [
    fakeShardReport(0, 2, samples(600, FAST_US), { connections: 6 }),
    fakeShardReport(1, 2, samples(300, SLOW_US), { connections: 4, mismatches: 1 }),
  ]).report;
}

Deno.test("the matrix table has one row per shard under the merged scenario row", () => {
  const lines = formatMatrixTable(twoShards().scenarios).split("\n");
  assert.equal(lines.length, 5, lines.join("\n"));
  assert.match(lines[2]!, /^merged\s+10\s+1KiB\s+900\s+900\s/);
  assert.match(lines[3]!, /^↳ shard 0\/2\s+6\s+600\s+600\s+100µs\s+100µs\s+100µs\s+0\.00%$/);
  assert.match(lines[4]!, /^↳ shard 1\/2\s+4\s+300\s+300\s+5\.00ms\s+5\.00ms\s+5\.00ms\s+0\.33%$/);
});

Deno.test("Markdown has the shard rows; a baseline leaves their Δ cells empty", () => {
  const report = twoShards();
  const md = formatMarkdown(report.scenarios).split("\n");
  assert.equal(md.length, 5);
  assert.ok(md[3]!.startsWith("| ↳ shard 0/2 | 6 |  | 600 | 600 |"), md[3]);
  const withBaseline = formatMatrixTable(report.scenarios, [{
    name: "merged",
    rps: 900,
    baseline_rps: 1000,
    rps_change_pct: -10,
    p99_us: SLOW_US,
    baseline_p99_us: SLOW_US,
    p99_change_pct: 0,
  }]).split("\n");
  assert.match(withBaseline[2]!, /-10\.0%\s+\+0\.0%$/);
  assert.match(withBaseline[3]!, /0\.00%$/, "no Δ on a shard row");
});

Deno.test("CSV adds a shard column: empty on the merged row, I/N on each shard's row", () => {
  const lines = formatCsv(twoShards().scenarios).split("\n");
  assert.equal(lines.length, 4);
  assert.ok(lines[0]!.endsWith(",error_rate,shard"), lines[0]);
  assert.ok(lines[1]!.startsWith("merged,pingpong,10,1024,1,900,900,"), lines[1]);
  assert.ok(lines[1]!.endsWith(","), "the merged row's shard cell is empty");
  assert.equal(lines[2], "merged,pingpong,6,1024,1,600,600,100,100,100,100,100,0,0,0/2");
  assert.ok(lines[3]!.endsWith(",1,0.003322,1/2"), lines[3]);
  assert.ok(!formatCsv([fakeResult("plain", [100])]).includes("shard"), "no column without shards");
});

Deno.test({
  name: browserTestName("the HTML report has one row per shard under the merged scenario row"),
  ignore: browserSkipReason() !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const browser = await launchBrowser();
    try {
      await Deno.writeTextFile(`${dir}/m.html`, reportHtml(twoShards()));
      const { page, errors } = await openWatchedPage(browser);
      await page.goto(`file://${dir}/m.html`);
      await page.locator("body[data-ready]").waitFor({ timeout: 5000 });
      const rows = await page.locator("#scenarios tbody tr").evaluateAll((trs) =>
        trs.map((tr) =>
          [...(tr as unknown as { cells: { textContent: string }[] }).cells]
            .map((td) => td.textContent)
        )
      );
      assert.deepEqual(rows.map((cells) => cells[0]), ["merged", "↳ shard 0/2", "↳ shard 1/2"]);
      assert.deepEqual(rows.map((cells) => cells[2]), ["10", "6", "4"], "connections");
      assert.deepEqual(rows.map((cells) => cells[5]), ["900", "600", "300"], "requests");
      assert.deepEqual(errors, []);
      await page.context().close();
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Write the shards and a baseline, run `merge` with `extra` flags, return the exit code. */
async function mergeExit(
  shards: RunReport[],
  extra: string[],
  baseline?: RunReport,
): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const files = await Promise.all(shards.map(async (report, i) => {
      const file = `${dir}/shard-${i}.json`;
      await Deno.writeTextFile(file, JSON.stringify(report));
      return file;
    }));
    if (baseline) await Deno.writeTextFile(`${dir}/baseline.json`, JSON.stringify(baseline));
    let stderr = "";
    const code = await loadTestCli([
      "merge",
      ...files,
      "--config",
      "/dev/null",
      ...(baseline ? ["--baseline", `${dir}/baseline.json`] : []),
      ...extra,
    ], { stdout: () => {}, stderr: (t) => void (stderr += t) });
    return { code, stderr };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "merge --fail-on-regression compares the merged rate with the baseline, not one shard's",
  FILES,
  async () => {
    // The baseline: one machine, 1000 req/s. Each shard alone is far below it.
    const baseline = fakeReport([fakeResult("merged", samples(1000, FAST_US))]);
    const gate = ["--fail-on-regression", "10"];
    const ahead = await mergeExit(
      [0, 1].map((i) => fakeShardReport(i, 2, samples(600, FAST_US))),
      gate,
      baseline,
    );
    assert.equal(ahead.code, 0, `1200 req/s merged is no regression: ${ahead.stderr}`);
    const behind = await mergeExit(
      [0, 1].map((i) => fakeShardReport(i, 2, samples(400, FAST_US))),
      gate,
      baseline,
    );
    assert.equal(behind.code, 1, "800 req/s merged is 20% below the baseline");
    assert.match(behind.stderr, /regression: merged: RPS fell 20\.0% \(1000 -> 800\)/);
  },
);

Deno.test(
  "merge --slo is evaluated on the merged percentiles, not on any single shard's",
  FILES,
  async () => {
    const slo = ["--slo", "p99<1ms"];
    // Shard 1 alone misses p99<1ms (all its requests take 5 ms), but it holds under 1% of all
    // requests: the merged p99 is 100 µs.
    const held = await mergeExit([
      fakeShardReport(0, 2, samples(10_000, FAST_US)),
      fakeShardReport(1, 2, samples(100, SLOW_US)),
    ], slo);
    assert.equal(held.code, 0, held.stderr);
    assert.match(held.stderr, /slo p99<1ms: merged held \(p99 100µs, merged\)/);
    // 300 slow requests are 2.9% of all: the merged p99 is 5 ms, though shard 0 holds.
    const missed = await mergeExit([
      fakeShardReport(0, 2, samples(10_000, FAST_US)),
      fakeShardReport(1, 2, samples(300, SLOW_US)),
    ], slo);
    assert.equal(missed.code, 1, missed.stderr);
    assert.match(missed.stderr, /slo p99<1ms: merged missed \(p99 50\d\dµs, merged\)/);
  },
);
