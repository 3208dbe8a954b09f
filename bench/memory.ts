/**
 * Memory per connection: the RSS a proxy grows by for each established idle connection.
 *
 * @module
 */

import type { BenchTarget } from "./process_group.ts";

/** Connections opened first so one-time costs (buffers, JIT) are not counted. */
const WARM_CONNECTIONS = 20;
/** Settle time before the first reading, ms. */
const SETTLE_BEFORE_MS = 300;
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
 * RSS per established idle connection: open `count` connections through `target`, exchange
 * one byte on each so both legs exist, read the RSS growth, close them.
 *
 * @param target The proxy under test (a fresh process: a heap grown by load runs would hide
 *   the cost of new connections).
 * @param count Connections to open.
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
  const warm: Deno.Conn[] = [];
  const conns: Deno.Conn[] = [];
  const byte = new Uint8Array(1);
  const roundTrip = async (conn: Deno.Conn) => {
    await conn.write(byte);
    await conn.read(new Uint8Array(1));
  };
  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    for (let i = 0; i < WARM_CONNECTIONS; i++) warm.push(await Deno.connect({ hostname, port }));
    await Promise.all(warm.map(roundTrip));
    await settle(SETTLE_BEFORE_MS);
    const before = rssBytes(target.pid);
    for (let i = 0; i < count; i++) conns.push(await Deno.connect({ hostname, port }));
    await Promise.all(conns.map(roundTrip));
    await settle(SETTLE_AFTER_MS);
    const after = rssBytes(target.pid);
    return (after - before) / count;
  } finally {
    for (const conn of [...warm, ...conns]) conn.close();
  }
}
