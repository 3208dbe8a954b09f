/**
 * What a fault-suite run found: the report, its human summary, and the one set of assertions
 * every service's fault test makes on it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FAULT_KINDS, type FaultKind, RUN_DEFAULTS } from "./plan.ts";
import { MiB } from "./tape.ts";

/** The figures of one run. */
export interface FaultReport {
  /** Plan seed (rerun with it to reproduce the plan). */
  seed: number;
  /** Connections opened by the mixed phase (over-limit holders included). */
  connections: number;
  /** Connections per kind. */
  byKind: Record<FaultKind, number>;
  /** Most connections open at once. */
  maxInFlight: number;
  /** Payload bytes checked byte for byte. */
  bytesVerified: number;
  /** Connections rejected over the limit (seen as an immediate close). */
  rejectedOverLimit: number;
  /** Connections that missed their deadline. */
  hung: number;
  /** One line per failed connection (empty when all passed). */
  failures: string[];
  /** Open descriptors before the run and after everything settled. */
  fds: { before: number; after: number };
  /** RSS before the stalled-reader phase and with every stalled flood blocked. */
  rss: { before: number; stalled: number; connections: number; floodedBytes: number };
  /** Unhandled rejections and uncaught errors seen during the run. */
  unhandled: string[];
  /** Wall time of the whole run. */
  durationMs: number;
}

/** Failures and unhandled errors listed in full by {@linkcode formatFaultReport}. */
const MAX_LISTED = 10;
const MS_PER_S = 1000;

/**
 * The report as a few human lines (what the README and the closing note quote).
 *
 * @param report A report from `runFaultSuite()`.
 * @param label What was tested, e.g. "proxy".
 * @returns Text.
 * @example
 * ```ts
 * console.log(formatFaultReport(report, "proxy relay=loop"));
 * ```
 */
export function formatFaultReport(report: FaultReport, label: string): string {
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  const kinds = FAULT_KINDS.filter((k) => report.byKind[k] > 0)
    .map((k) => `${k} ${report.byKind[k]}`).join(", ");
  return [
    `[fault suite] ${label}: ${report.connections} connections (max ${report.maxInFlight} at once) ` +
    `in ${(report.durationMs / MS_PER_S).toFixed(1)} s, seed ${report.seed}`,
    `[fault suite] ${label}: faults by kind: ${kinds}`,
    `[fault suite] ${label}: bytes verified ${report.bytesVerified} (${
      mb(report.bytesVerified)
    }), rejected over limit ${report.rejectedOverLimit}, hung ${report.hung}, failures ${report.failures.length}, unhandled ${report.unhandled.length}`,
    `[fault suite] ${label}: fds before ${report.fds.before}, after ${report.fds.after}; ` +
    `RSS before stalled readers ${mb(report.rss.before)}, with ${report.rss.connections} ` +
    `stalled floods ${mb(report.rss.stalled)} (flooded ${
      mb(report.rss.floodedBytes)
    } before blocking)`,
    ...report.failures.slice(0, MAX_LISTED).map((f) => `[fault suite] ${label}: FAILED ${f}`),
    ...report.unhandled.slice(0, MAX_LISTED).map((u) => `[fault suite] ${label}: ${u}`),
  ].join("\n");
}

/** What {@linkcode assertFaultReport} requires beyond "nothing failed". */
export interface FaultExpectations {
  /** Least connections the run must have opened. */
  minConnections: number;
  /** Bytes each stalled flood would have sent unchecked (the run's `stalledFloodBytes`). @default 48 MiB */
  stalledFloodBytes?: number;
  /** Least connections open at once. @default 100 */
  minInFlight?: number;
  /** RSS each stalled reader may cost the service. @default 2 MiB */
  rssPerStalled?: number;
  /** RSS growth allowed on top of that. @default 48 MiB */
  rssSlack?: number;
}

const DEFAULT_MIN_IN_FLIGHT = 100;
const DEFAULT_RSS_PER_STALLED = 2 * MiB;
const DEFAULT_RSS_SLACK = 48 * MiB;

/**
 * Assert what every service must show under the fault suite: no failure, no unhandled error,
 * no hang, enough connections of every kind at once, descriptors back to the baseline, floods
 * held back by backpressure, and RSS bounded while readers stall.
 *
 * @param report A report from `runFaultSuite()`.
 * @param expect Connection count, flood size, limits.
 * @throws {assert.AssertionError} Naming the first expectation the report misses.
 * @example
 * ```ts
 * assertFaultReport(report, { minConnections: 2000 });
 * ```
 */
export function assertFaultReport(report: FaultReport, expect: FaultExpectations): void {
  assert.deepEqual(
    report.failures.slice(0, MAX_LISTED),
    [],
    `${report.failures.length} failures`,
  );
  assert.deepEqual(report.unhandled, []);
  assert.equal(report.hung, 0);
  assert.ok(
    report.connections >= expect.minConnections,
    `${report.connections} connections, expected at least ${expect.minConnections}`,
  );
  const minInFlight = expect.minInFlight ?? DEFAULT_MIN_IN_FLIGHT;
  assert.ok(report.maxInFlight >= minInFlight, `only ${report.maxInFlight} at once`);
  for (const [kind, n] of Object.entries(report.byKind)) assert.ok(n > 0, `no ${kind}`);
  assert.equal(report.fds.after, report.fds.before, "descriptors back to the baseline");
  const stalled = report.rss.connections;
  const flood = expect.stalledFloodBytes ?? RUN_DEFAULTS.stalledFloodBytes;
  assert.ok(
    report.rss.floodedBytes < stalled * flood / 2,
    `floods were not held back: ${report.rss.floodedBytes} bytes sent`,
  );
  const grown = report.rss.stalled - report.rss.before;
  const perStalled = expect.rssPerStalled ?? DEFAULT_RSS_PER_STALLED;
  assert.ok(
    grown < stalled * perStalled + (expect.rssSlack ?? DEFAULT_RSS_SLACK),
    `RSS grew ${(grown / MiB).toFixed(1)} MiB with ${stalled} stalled readers`,
  );
}
