/**
 * `@monkey/testing`: what the project's tests share, never imported by a service. Loopback test
 * peers and the one accept loop (`acceptLoop`, `startPeer`, `startBlackHole`, `relayEnds`,
 * `dial`, `closedPortAddr`), full reads and writes (`writeAll`, `readExactly`, `readLine`,
 * `echoUntilEof`), condition waits (`waitFor`), a seeded PRNG (`seededRandom`),
 * permission-aware `requires()`, subprocess helpers (`spawnLines`, `spawnDeno`, `runDeno`,
 * `exhaustDescriptors`), `/metrics` scraping (`scrapeMetrics`) and `promtool check metrics`
 * (`promtoolCheck`), a real HAProxy in front (`startFrontHaproxy`). The fault suite, the bad-config table and the hostile HTTP probes are
 * subpath exports: `@monkey/testing/fault`, `@monkey/testing/bad-config`,
 * `@monkey/testing/bad-http`.
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

export * from "./io.ts";
export * from "./peers.ts";
export * from "./drain.ts";
export * from "./permissions.ts";
export * from "./process.ts";
export * from "./random.ts";
export * from "./wait.ts";
export * from "./emfile.ts";
export * from "./metrics.ts";
export * from "./promtool.ts";
export * from "./engines.ts";
export type { RequestableApp } from "./bad_http.ts";
export type { EngineName } from "@monkey/shared";
export * from "./tls.ts";
export * from "./cert_files.ts";
export * from "./dnsmasq.ts";
export * from "./haproxy.ts";
export * from "./nginx.ts";
