import assert from "node:assert/strict";
import { FAULT_KINDS } from "./plan.ts";
import { assertFaultReport, type FaultReport, formatFaultReport } from "./report.ts";

const MiB = 1024 * 1024;

function goodReport(): FaultReport {
  return {
    seed: 1,
    connections: 2000,
    byKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, 10])) as FaultReport["byKind"],
    maxInFlight: 250,
    bytesVerified: 100 * MiB,
    rejectedOverLimit: 40,
    hung: 0,
    failures: [],
    fds: { before: 20, after: 20 },
    rss: { before: 100 * MiB, stalled: 110 * MiB, connections: 16, floodedBytes: 160 * MiB },
    unhandled: [],
    durationMs: 5000,
  };
}

Deno.test("assertFaultReport() passes a clean report and formatFaultReport() summarises it", () => {
  assertFaultReport(goodReport(), { minConnections: 2000 });
  const text = formatFaultReport(goodReport(), "relay");
  assert.match(text, /^\[fault suite\] relay: 2000 connections \(max 250 at once\) in 5\.0 s/);
  assert.match(text, /hung 0, failures 0, unhandled 0/);
});

Deno.test("assertFaultReport() fails on each thing the fault tests check", () => {
  const cases: [string, (r: FaultReport) => void, RegExp][] = [
    ["a failure", (r) => r.failures.push("normal #1: reset"), /1 failures/],
    ["an unhandled rejection", (r) => r.unhandled.push("boom"), /boom/],
    ["a hang", (r) => r.hung = 1, /1 !== 0|Expected values to be strictly equal/],
    ["too few connections", (r) => r.connections = 1999, /1999 connections, expected at least/],
    ["too little concurrency", (r) => r.maxInFlight = 99, /only 99 at once/],
    ["a kind never run", (r) => r.byKind.dead_port = 0, /no dead_port/],
    ["a leaked descriptor", (r) => r.fds.after = 21, /descriptors back to the baseline/],
    ["floods not held back", (r) => r.rss.floodedBytes = 16 * 24 * MiB, /floods were not held/],
    ["RSS growth", (r) => r.rss.stalled = r.rss.before + 80 * MiB, /RSS grew 80\.0 MiB/],
  ];
  for (const [what, spoil, message] of cases) {
    const report = goodReport();
    spoil(report);
    assert.throws(() => assertFaultReport(report, { minConnections: 2000 }), message, what);
  }
});

Deno.test("assertFaultReport() takes the flood size and RSS budget it is given", () => {
  const report = goodReport();
  report.rss.floodedBytes = 16 * 8 * MiB;
  assert.throws(
    () => assertFaultReport(report, { minConnections: 1, stalledFloodBytes: 16 * MiB }),
    /floods were not held back/,
  );
  report.rss.floodedBytes = 0;
  assertFaultReport(report, { minConnections: 1, rssPerStalled: 0, rssSlack: 11 * MiB });
  assert.throws(
    () => assertFaultReport(report, { minConnections: 1, rssPerStalled: 0, rssSlack: 10 * MiB }),
    /RSS grew 10\.0 MiB with 16 stalled readers/,
  );
});
