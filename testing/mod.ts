/**
 * `@monkey/testing`: what the project's tests share, never imported by a service. Loopback test
 * peers (`dial`, `startPeer`, `startBlackHole`, `relayEnds`), full reads and writes, condition
 * waits, permission-aware `requires()`, and subprocess helpers. The fault suite, the bad-config
 * table and the hostile HTTP probes are subpath exports: `@monkey/testing/fault`,
 * `@monkey/testing/bad-config`, `@monkey/testing/bad-http`.
 *
 * @example
 * ```ts
 * import { dial, readExactly, writeAll } from "@monkey/testing";
 * const conn = await dial("127.0.0.1:8081");
 * await writeAll(conn, new TextEncoder().encode("hi"));
 * await readExactly(conn, 2);
 * conn.close();
 * ```
 *
 * @module
 */

export * from "./peers.ts";
export * from "./process.ts";
