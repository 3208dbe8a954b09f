/**
 * The fault suite's driver: the mixed phase, the over-limit lane, the stalled-reader memory
 * phase and the settle checks, returning a {@linkcode FaultReport}.
 *
 * @module
 */

import { closeQuietly, readExactly, writeAll } from "../io.ts";
import { dial } from "../peers.ts";
import { waitFor } from "../wait.ts";
import { expectCloseWithoutData, Failure, runClient, withDeadline } from "./clients.ts";
import { openFds } from "./fds.ts";
import {
  DEFAULT_MIX,
  FAULT_KINDS,
  type FaultKind,
  planRun,
  RUN_DEFAULTS,
  type Step,
} from "./plan.ts";
import type { FaultReport } from "./report.ts";
import { header, MiB } from "./tape.ts";
import type { FaultUpstream } from "./upstream.ts";

/** A service address and its active-connection gauge. */
export interface FaultTarget {
  /** `host:port` of the service. */
  addr: string;
  /** The service's active-connection count (must return to 0). */
  active: () => number;
}

/** A running service as its library API returns it (`startProxy()`, `startLoadBalancer()`). */
export interface ServiceHandle {
  /** Its bound `host:port`. */
  readonly addr: string;
  /** Its metrics snapshot. */
  snapshot(): { active_connections: number };
}

/**
 * The fault target of a running service: its address and its active-connection gauge.
 *
 * @param service A handle with `addr` and `snapshot()`.
 * @returns The target.
 * @example
 * ```ts
 * const report = await runFaultSuite({ main: serviceTarget(proxy) }, upstream);
 * ```
 */
export function serviceTarget(service: ServiceHandle): FaultTarget {
  return { addr: service.addr, active: () => service.snapshot().active_connections };
}

/** What {@linkcode runFaultSuite} drives. */
export interface FaultTargets {
  /** The service under test, forwarding to the fault upstream; needs an idle timeout. */
  main: FaultTarget;
  /** A service whose upstream is a dead port (`dead_port` connections go here). */
  dead?: FaultTarget;
  /** A service forwarding to the fault upstream with a small `max_connections` (`over_limit`). */
  limited?: FaultTarget & { limit: number };
}

/** Options for {@linkcode runFaultSuite}. */
export interface FaultRunOptions {
  /** Connections in the mixed phase. @default 2000 */
  connections?: number;
  /** Connections open at once. @default 250 */
  concurrency?: number;
  /** Per-connection deadline; a connection still open then counts as hung. @default 10000 */
  deadlineMs?: number;
  /** Weights of each kind; kinds without a target get none. @default DEFAULT_MIX */
  mix?: Partial<Record<FaultKind, number>>;
  /** Largest normal/half-close payload. @default 300 KiB */
  maxSize?: number;
  /** Seed of the plan (kinds, sizes, delays). @default random */
  seed?: number;
  /** Clients that stop reading while the upstream floods, in the memory phase. @default 16 */
  stalledReaders?: number;
  /** Bytes each stalled flood would send if nothing pushed back. @default 48 MiB */
  stalledFloodBytes?: number;
  /** Time to wait for gauges and descriptors to settle after the run. @default 10000 */
  settleMs?: number;
}

/** How long the upstream's flood counter must stand still to call every flood blocked. */
const STALL_QUIET_MS = 300;
/** Poll interval while waiting for descriptors to come back. */
const FD_POLL_MS = 20;
/** Seeds of the stalled floods are spread this far apart on the tape. */
const STALL_SEED_STEP = 4099;
/** The closing exchange that proves the service still serves. */
const FINAL_CHECK: Step = { kind: "normal", seed: 7, size: MiB, delayMs: 0 };
/** Failure ids of over-limit knocks: burst × this + knock. */
const KNOCK_ID_BASE = 1000;
const MAX_SEED = 2 ** 31;

/** Mutable tallies of a run, shared by its lanes. */
class Tally {
  byKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  failures: string[] = [];
  bytesVerified = 0;
  hung = 0;
  inFlight = 0;
  maxInFlight = 0;
  rejectedOverLimit = 0;

  fail(kind: FaultKind, i: number, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith("hung")) this.hung++;
    this.failures.push(`${kind} #${i}: ${message}`);
  }

  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await fn();
    } finally {
      this.inFlight--;
    }
  }
}

/** Collect unhandled rejections and uncaught errors until the returned function is called. */
function catchUnhandled(unhandled: string[]): () => void {
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    unhandled.push(`unhandled rejection: ${String(event.reason?.stack ?? event.reason)}`);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    unhandled.push(`uncaught error: ${String(event.error?.stack ?? event.message)}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}

/** The mixed phase: `concurrency` workers take the planned steps in order. */
async function mixedPhase(
  targets: FaultTargets,
  steps: Step[],
  concurrency: number,
  deadlineMs: number,
  tally: Tally,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < steps.length) {
      const i = next++;
      const step = steps[i]!;
      tally.byKind[step.kind]++;
      const target = step.kind === "dead_port" ? targets.dead! : targets.main;
      await tally.track(async () => {
        let conn: Deno.TcpConn;
        try {
          conn = await dial(target.addr);
        } catch (error) {
          return tally.fail(step.kind, i, error);
        }
        try {
          // (`x += await f()` would read x before the await and lose concurrent updates.)
          const verified = await withDeadline(conn, deadlineMs, () => runClient(conn, step));
          tally.bytesVerified += verified;
        } catch (error) {
          tally.fail(step.kind, i, error);
        } finally {
          closeQuietly(conn);
        }
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, steps.length) }, worker));
}

/** Fill every slot of the limited service with a live echo. */
async function fillSlots(
  limited: FaultTarget & { limit: number },
  holders: Deno.TcpConn[],
  deadlineMs: number,
  tally: Tally,
): Promise<void> {
  for (let h = 0; h < limited.limit; h++) {
    const conn = await dial(limited.addr);
    holders.push(conn);
    tally.byKind.over_limit++;
    await withDeadline(conn, deadlineMs, async () => {
      await writeAll(conn, header("E", 0, 0));
      await writeAll(conn, new Uint8Array([h]));
      const [b] = await readExactly(conn, 1);
      if (b !== h) throw new Failure("holder echo differs");
    });
    tally.bytesVerified += 1;
  }
}

/** Bursts beyond the limited service's `max_connections` while it is full: each knock must be closed at once. */
async function overLimitLane(
  limited: FaultTarget & { limit: number } | undefined,
  count: number,
  deadlineMs: number,
  tally: Tally,
): Promise<void> {
  if (limited === undefined) return;
  const extra = Math.max(1, limited.limit * 2);
  let burst = 0;
  while (tally.byKind.over_limit < count) {
    burst++;
    await waitFor(() => limited.active() === 0, "limited service to go idle", deadlineMs);
    const holders: Deno.TcpConn[] = [];
    try {
      await fillSlots(limited, holders, deadlineMs, tally);
      await Promise.all(Array.from({ length: extra }, (_, k) =>
        tally.track(async () => {
          tally.byKind.over_limit++;
          const conn = await dial(limited.addr);
          try {
            await withDeadline(conn, deadlineMs, () => expectCloseWithoutData(conn));
            tally.rejectedOverLimit++;
          } catch (error) {
            tally.fail("over_limit", burst * KNOCK_ID_BASE + k, error);
          } finally {
            closeQuietly(conn);
          }
        })));
    } catch (error) {
      tally.fail("over_limit", burst, error);
    } finally {
      for (const conn of holders) closeQuietly(conn);
    }
  }
}

/** Memory phase: clients stop reading while the upstream floods; RSS once every flood is blocked. */
async function stalledReaders(
  target: FaultTarget,
  upstream: FaultUpstream,
  count: number,
  flood: number,
  deadlineMs: number,
): Promise<FaultReport["rss"]> {
  const before = Deno.memoryUsage().rss;
  const floodedBefore = upstream.flooded;
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const conn = await dial(target.addr);
      conns.push(conn);
      await writeAll(conn, header("F", i * STALL_SEED_STEP, flood));
    }
    // No event says "every flood is blocked": watch the upstream's byte counter stand still.
    let last = -1;
    let quietSince = performance.now();
    await waitFor(
      () => {
        const now = performance.now();
        if (upstream.flooded !== last) {
          last = upstream.flooded;
          quietSince = now;
          return false;
        }
        return now - quietSince >= STALL_QUIET_MS;
      },
      "stalled floods to stop moving",
      deadlineMs,
    );
    return {
      before,
      stalled: Deno.memoryUsage().rss,
      connections: count,
      floodedBytes: upstream.flooded - floodedBefore,
    };
  } finally {
    for (const conn of conns) closeQuietly(conn);
  }
}

/** Wait for every gauge and the upstream to reach 0, then for descriptors to come back. */
async function settle(
  targets: FaultTargets,
  upstream: FaultUpstream,
  fdsBefore: number,
  settleMs: number,
  failures: string[],
): Promise<number> {
  const gauges = [targets.main, targets.dead, targets.limited].filter((t) => t !== undefined);
  try {
    await waitFor(
      () => gauges.every((t) => t.active() === 0) && upstream.open === 0,
      "active gauges and upstream connections to reach 0",
      settleMs,
    );
  } catch (error) {
    failures.push(
      `${(error as Error).message} (active: ${
        gauges.map((t) => t.active()).join("/")
      }, upstream open: ${upstream.open})`,
    );
  }
  let fdsAfter = await openFds();
  for (const deadline = performance.now() + settleMs; fdsAfter > fdsBefore;) {
    if (performance.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, FD_POLL_MS));
    fdsAfter = await openFds();
  }
  return fdsAfter;
}

/** Still serving: one normal exchange of 1 MiB. */
async function finalCheck(target: FaultTarget, deadlineMs: number, tally: Tally): Promise<void> {
  const check = await dial(target.addr);
  try {
    const verified = await withDeadline(check, deadlineMs, () => runClient(check, FINAL_CHECK));
    tally.bytesVerified += verified;
  } catch (error) {
    tally.failures.push(`service no longer serves after the run: ${(error as Error).message}`);
  } finally {
    closeQuietly(check);
  }
}

/**
 * Run the fault suite: a mixed phase of `connections` clients, `concurrency` at once; an
 * over-limit lane alongside (bursts beyond the limited service's `max_connections` while
 * it is full); then a memory phase where clients stop reading while the upstream floods;
 * then checks that every gauge returns to 0, descriptors return to the baseline and a normal
 * exchange still works. It does not assert: the caller asserts on the report (see
 * `assertFaultReport()`).
 *
 * @param targets The service under test and its dead-port and limited variants.
 * @param upstream The fault upstream the services forward to.
 * @param options Counts, concurrency, deadlines, mix.
 * @returns The figures of the run.
 * @example
 * ```ts
 * const report = await runFaultSuite({ main: { addr: proxy.addr, active: () => proxy.snapshot().active_connections } }, upstream);
 * console.log(formatFaultReport(report, "proxy"));
 * ```
 */
export async function runFaultSuite(
  targets: FaultTargets,
  upstream: FaultUpstream,
  options: FaultRunOptions = {},
): Promise<FaultReport> {
  const started = performance.now();
  const o = { ...RUN_DEFAULTS, ...options };
  const seed = options.seed ?? Math.floor(Math.random() * MAX_SEED);
  const mix = { ...DEFAULT_MIX, ...options.mix };
  if (targets.dead === undefined) mix.dead_port = 0;
  if (targets.limited === undefined) mix.over_limit = 0;
  const weights = FAULT_KINDS.reduce((sum, k) => sum + mix[k], 0);
  const overLimitCount = Math.round(o.connections * mix.over_limit / weights);
  const steps = planRun(o.connections - overLimitCount, mix, o.maxSize, seed);

  const unhandled: string[] = [];
  const stopCatching = catchUnhandled(unhandled);
  const tally = new Tally();
  const fdsBefore = await openFds();
  try {
    await Promise.all([
      mixedPhase(targets, steps, o.concurrency, o.deadlineMs, tally),
      overLimitLane(targets.limited, overLimitCount, o.deadlineMs, tally),
    ]);
    const rss = await stalledReaders(
      targets.main,
      upstream,
      o.stalledReaders,
      o.stalledFloodBytes,
      o.deadlineMs,
    );
    const fdsAfter = await settle(targets, upstream, fdsBefore, o.settleMs, tally.failures);
    await finalCheck(targets.main, o.deadlineMs, tally);
    return {
      seed,
      connections: steps.length + tally.byKind.over_limit,
      byKind: tally.byKind,
      maxInFlight: tally.maxInFlight,
      bytesVerified: tally.bytesVerified,
      rejectedOverLimit: tally.rejectedOverLimit,
      hung: tally.hung,
      failures: tally.failures,
      fds: { before: fdsBefore, after: fdsAfter },
      rss,
      unhandled,
      durationMs: performance.now() - started,
    };
  } finally {
    // Let rejections queued by the last closes surface before the listeners go.
    await new Promise((resolve) => setTimeout(resolve, 0));
    stopCatching();
  }
}
