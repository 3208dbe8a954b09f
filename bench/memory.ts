/**
 * Memory per connection: the RSS a proxy grows by for each established idle connection.
 *
 * @module
 */

import type { BenchTarget } from "./process_group.ts";

/** Connections opened first so one-time costs (buffers, JIT) are not counted. */
const WARM_CONNECTIONS = 20;
/** Settle time before the second reading (lazy allocations, page faults), ms. */
const SETTLE_AFTER_MS = 1000;
const KIB = 1024;

/**
 * Resident memory of a process in bytes, read with `ps` (Deno allows reading another
 * process's `/proc/PID/status` only with --allow-all).
 *
 * @param pid Process id.
 * @returns RSS bytes, or NaN when unreadable.
 * @example
 * ```ts
 * console.log(rssBytes(Deno.pid));
 * ```
 */
export function rssBytes(pid: number): number {
  try {
    const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stderr: "null" })
      .outputSync();
    const kib = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && Number.isFinite(kib) ? kib * KIB : NaN;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return NaN; // no ps
    throw error;
  }
}

/**
 * RSS per established idle connection, as the slope between two loads: open `count`
 * connections through `target` (one byte exchanged on each so both legs exist), read the RSS,
 * open `count` more, read it again; the growth of the second step over `count`. The first
 * step absorbs one-time growth (the V8 heap sizing itself to a burst, buffer pools), which is
 * not a cost per connection; every target is measured the same way.
 *
 * @param target The proxy under test (a fresh process: a heap grown by load runs would hide
 *   the cost of new connections).
 * @param count Connections per step (2 × count are open at the end).
 * @returns Bytes of RSS per connection.
 * @example
 * ```ts
 * const bytes = await rssPerIdleConnection(proxy, 500);
 * ```
 */
export async function rssPerIdleConnection(target: BenchTarget, count: number): Promise<number> {
  const colon = target.addr.lastIndexOf(":");
  const hostname = target.addr.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(target.addr.slice(colon + 1));
  const conns: Deno.Conn[] = [];
  const byte = new Uint8Array(1);
  const roundTrip = async (conn: Deno.Conn) => {
    await conn.write(byte);
    await conn.read(new Uint8Array(1));
  };
  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const open = async (n: number) => {
    const batch: Deno.Conn[] = [];
    for (let i = 0; i < n; i++) batch.push(await Deno.connect({ hostname, port }));
    conns.push(...batch);
    await Promise.all(batch.map(roundTrip));
  };
  try {
    await open(WARM_CONNECTIONS);
    await open(count);
    await settle(SETTLE_AFTER_MS);
    const before = rssBytes(target.pid);
    await open(count);
    await settle(SETTLE_AFTER_MS);
    const after = rssBytes(target.pid);
    return (after - before) / count;
  } finally {
    for (const conn of conns) conn.close();
  }
}
