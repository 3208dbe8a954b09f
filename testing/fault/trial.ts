/**
 * One service's fault trial: the suite against three instances of it (the one under test, one
 * forwarding to a dead port, one with a small connection limit), the assertions every relay's
 * trial makes, and the cleanup that proves nothing leaked.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openFds } from "./fds.ts";
import { assertFaultReport, type FaultReport, formatFaultReport } from "./report.ts";
import { runFaultSuite, serviceTarget } from "./suite.ts";
import type { FaultUpstream } from "./upstream.ts";

/** A running relay as a fault trial drives it. */
export interface TrialService {
  /** Its bound `host:port`. */
  readonly addr: string;
  /** The counters the trial checks. */
  snapshot(): {
    active_connections: number;
    rejected_connections: number;
    idle_timeouts: number;
    relay_errors: number;
  };
  /** Graceful shutdown with this grace period. */
  shutdown(graceMs: number): Promise<unknown>;
}

/** Options for {@linkcode runFaultTrial}. */
export interface FaultTrialOptions<S extends TrialService> {
  /** The fault upstream `main` and `limited` forward to; closed at the end. */
  upstream: FaultUpstream;
  /** The service under test (an idle timeout set, so silent upstreams are closed). */
  main: S;
  /** The same service forwarding to a dead port (`dead_port` connections go there). */
  dead: S;
  /** The same service with `max_connections` = `limit` (`over_limit` connections go there). */
  limited: S;
  /** The limited service's `max_connections`. */
  limit: number;
  /** Connections in the mixed phase (also the least the run must open). */
  connections: number;
  /** Connections open at once. */
  concurrency: number;
  /** Names the run in the printed report. */
  label: string;
  /** What the three services logged: no `ERROR` line may be among them. */
  logLines: readonly string[];
  /** The service's own assertions on the report and its snapshots, after the common ones. */
  check(report: FaultReport): void;
}

/**
 * Run the fault suite against started services, print the report, assert it and the common
 * counters (nothing active, idle timeouts and resets seen, rejections over the limit counted,
 * no error logged), run `check`, shut every service down, close the upstream, and assert that
 * every descriptor opened since the call is closed.
 *
 * @param options The services, the upstream, the run's size and the service's own checks.
 * @returns Resolves when everything is closed.
 * @example
 * ```ts
 * await runFaultTrial({
 *   upstream, main, dead, limited, limit: 4, connections: 2000, concurrency: 120,
 *   label: "proxy", logLines: lines, check: (report) => assert.ok(report.byKind.dead_port > 0),
 * });
 * ```
 */
export async function runFaultTrial<S extends TrialService>(
  options: FaultTrialOptions<S>,
): Promise<void> {
  const { upstream, main, dead, limited, limit, connections } = options;
  const fdsAtStart = await openFds();
  try {
    const report = await runFaultSuite(
      {
        main: serviceTarget(main),
        dead: serviceTarget(dead),
        limited: { ...serviceTarget(limited), limit },
      },
      upstream,
      { connections, concurrency: options.concurrency },
    );
    console.log(formatFaultReport(report, options.label));

    // Defaults: 16 stalled readers of 48 MiB floods, each may cost 2 MiB RSS (+48 MiB slack).
    assertFaultReport(report, { minConnections: connections });

    const snap = main.snapshot();
    assert.equal(snap.active_connections, 0);
    assert.ok(snap.idle_timeouts > 0, "silent upstreams were closed by the idle timeout");
    assert.ok(snap.relay_errors > 0, "resets were seen and counted");
    assert.equal(limited.snapshot().rejected_connections, report.rejectedOverLimit);
    options.check(report);
    const errors = options.logLines.filter((l) => /ERROR/.test(l));
    assert.deepEqual(errors, [], "no handler failure was logged");
  } finally {
    await Promise.all([main.shutdown(0), dead.shutdown(0), limited.shutdown(0)]);
  }
  await upstream.close();
  assert.ok(await openFds() <= fdsAtStart, "every socket of the run is closed");
}
