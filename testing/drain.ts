/**
 * The graceful-drain contract every service keeps (DESIGN.md, shutdown): once shutdown starts,
 * `/health` answers 503 and no new connection is accepted, a live connection is still served
 * during the grace period, and what is left at the deadline is closed and counted as forced.
 *
 * @module
 */

import assert from "node:assert/strict";
import { assertEchoes, readOutcome } from "./io.ts";
import { closeEachAfterEof, dial, dialEchoed } from "./peers.ts";

/** What {@linkcode assertDrains} drives: a started service in front of (or being) an echo. */
export interface DrainingService {
  /** Where clients connect. */
  readonly addr: string;
  /** Its HTTP app (for `/health`). */
  readonly app: { request(path: string): Response | Promise<Response> };
  /** Graceful shutdown with this grace period. */
  shutdown(graceMs: number): Promise<{ forced: number }>;
}

/**
 * Assert the drain contract: with one live connection, shutdown turns `/health` to 503,
 * refuses new connections, still serves the live one, then closes it at the deadline and
 * reports it as forced.
 *
 * @param service A service whose connections echo (an echo server, or a proxy to one).
 * @param graceMs The grace period to shut down with.
 * @param whileDraining More checks to run while it drains (e.g. its snapshot says so).
 * @returns Resolves when the service has stopped.
 * @example
 * ```ts
 * await assertDrains(startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" }), 150);
 * ```
 */
export async function assertDrains(
  service: DrainingService,
  graceMs: number,
  whileDraining?: () => void,
): Promise<void> {
  const conn = await dialEchoed(service.addr);
  assert.equal((await service.app.request("/health")).status, 200);
  const done = service.shutdown(graceMs);
  assert.equal((await service.app.request("/health")).status, 503);
  whileDraining?.();
  await assert.rejects(dial(service.addr), "no new connections while draining");
  await assertEchoes(conn, 1, "live connection still served during the grace period");
  const summary = await done;
  assert.equal(summary.forced, 1);
  assert.notEqual(await readOutcome(conn), "data");
  conn.close();
}

/** What {@linkcode assertClusterStops} drives: a running multi-worker service. */
export interface StoppingCluster {
  /** Drain every worker for `graceMs`. */
  shutdown(graceMs: number): Promise<{ total_connections: number; forced: number }>;
  /** The `[METRICS]` line over every worker. */
  summaryLine(): Promise<string>;
}

/**
 * End each of `conns` cleanly ({@linkcode closeEachAfterEof}), shut `cluster` down, and assert
 * that the summary and the final `[METRICS]` line count `total` connections, none live and none
 * forced.
 *
 * @param cluster The service, every connection of which is in `conns`.
 * @param conns Its live connections, to an echo behind it.
 * @param total Connections it accepted since start.
 * @returns Resolves when the cluster has stopped.
 * @example
 * ```ts
 * const conns = await openEchoed(cluster.addr, 16, 100);
 * await assertClusterStops(cluster, conns, 16);
 * ```
 */
export async function assertClusterStops(
  cluster: StoppingCluster,
  conns: Deno.TcpConn[],
  total: number,
): Promise<void> {
  await closeEachAfterEof(conns);
  const summary = await cluster.shutdown(1000);
  assert.equal(summary.total_connections, total);
  assert.equal(summary.forced, 0);
  assert.match(
    await cluster.summaryLine(),
    new RegExp(`^\\[METRICS\\] active: 0 \\| total: ${total} `),
    "final metrics after shutdown",
  );
}
