import assert from "node:assert/strict";
import { compareWithBaseline } from "./baseline.ts";
import {
  formatCsv,
  formatMarkdown,
  formatMatrixTable,
  formatReport,
  formatScenario,
  formatSize,
} from "./report.ts";
import { fakeReport, fakeResult } from "./_testing.ts";

const results = [
  fakeResult("baseline", Array.from({ length: 2000 }, (_, i) => 100 + (i % 200))),
  fakeResult("big-data", Array.from({ length: 100 }, () => 4000), { mismatches: 1 }),
];

Deno.test("formatScenario() prints the seed's per-scenario layout", () => {
  const text = formatScenario(results[0]!);
  for (
    const label of [
      "Duration:",
      "Connections:",
      "Requests:",
      "Requests/s:",
      "Throughput:",
      "Latency:",
      "p99.9",
      "Errors:",
    ]
  ) {
    assert.ok(text.includes(label), label);
  }
  assert.match(text, /Requests\/s:\s+2,000/);
});

Deno.test("formatMatrixTable() prints the seed's matrix columns, one row per scenario", () => {
  const lines = formatMatrixTable(results).split("\n");
  const columns = "Scenario Conns MsgSize Requests RPS p50 p95 p99 Err%";
  assert.deepEqual(lines[0]!.split(/\s+/), columns.split(" "));
  assert.equal(lines.length, 4);
  assert.match(
    lines[3]!,
    /^big-data\s+10\s+1KiB\s+100\s+100\s+4\.00ms\s+4\.00ms\s+4\.00ms\s+0\.99%$/,
  );
});

Deno.test("formatCsv() prints a header and raw numbers", () => {
  const lines = formatCsv(results).split("\n");
  assert.equal(
    lines[0],
    "scenario,mode,connections,message_size,duration_secs,requests,rps,p50_us,p95_us,p99_us,p999_us,max_us,errors,error_rate",
  );
  assert.equal(lines.length, 3);
  const cells = lines[2]!.split(",");
  assert.deepEqual(cells.slice(0, 7), ["big-data", "pingpong", "10", "1024", "1", "100", "100"]);
  assert.equal(cells[9], "4001");
  assert.equal(cells[12], "1");
});

Deno.test("formatMarkdown() prints a Markdown table with baseline deltas", () => {
  const before = fakeReport([fakeResult("baseline", Array.from({ length: 1000 }, () => 150))]);
  const rows = compareWithBaseline(results, before);
  const lines = formatMarkdown(results, rows).split("\n");
  assert.equal(
    lines[0],
    "| Scenario | Conns | MsgSize | Requests | RPS | p50 | p95 | p99 | Err% | ΔRPS | Δp99 |",
  );
  assert.equal(
    lines[1],
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  assert.match(lines[2]!, /^\| baseline \| 10 \| .* \| \+100\.0% \| \+98\.0% \|$/);
  assert.match(lines[3]!, /\| new \| {2}\|$/);
});

Deno.test("formatReport() json follows the documented schema", () => {
  const doc = JSON.parse(formatReport(fakeReport(results), "json"));
  assert.deepEqual(Object.keys(doc).sort(), [
    "machine",
    "scenarios",
    "started_at",
    "target",
    "tool_version",
  ]);
  assert.deepEqual(Object.keys(doc.machine).sort(), ["cpus", "deno", "os"]);
  const s = doc.scenarios[0];
  const keys = "name mode connections message_size duration_secs requests rps throughput_up_bps " +
    "throughput_down_bps latency_us errors error_rate histogram";
  for (const key of keys.split(" ")) assert.ok(key in s, key);
  assert.deepEqual(Object.keys(s.latency_us), "min mean p50 p90 p95 p99 p999 max".split(" "));
  assert.deepEqual(Object.keys(s.errors), ["total", "by_kind"]);
  assert.equal(typeof s.histogram, "string");
  assert.match(s.histogram, /^[A-Za-z0-9+/]+=*$/);
});

Deno.test("formatReport() table adds the matrix table for a matrix run", () => {
  const text = formatReport(fakeReport(results), "table", { matrix: true });
  assert.ok(text.includes("=== baseline (pingpong) ==="));
  assert.ok(text.includes("Scenario"));
  const single = formatReport(fakeReport(results.slice(0, 1)), "table");
  assert.ok(!single.includes("MsgSize"));
});

Deno.test("formatSize() prints sizes in the units --size takes", () => {
  assert.equal(formatSize(64), "64B");
  assert.equal(formatSize(1024), "1KiB");
  assert.equal(formatSize(1536), "1.5KiB");
  assert.equal(formatSize(65536), "64KiB");
  assert.equal(formatSize(17_616_077), "16.8MiB");
  const report = formatScenario(fakeResult("a", [100]));
  assert.match(report, /Message size: {2}1KiB\n/);
  assert.match(report, /Throughput: {4}up 1KiB\/s, down 1KiB\/s/);
});
