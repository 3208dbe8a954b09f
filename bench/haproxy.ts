/**
 * HAProxy as a bench row: `mode tcp`, one thread, in front of the bench's backend.
 * Debian/Ubuntu package: `haproxy`.
 *
 * @module
 */

import { type BenchTarget, freePort, type ProcessGroup, startExternal } from "./process_group.ts";

/**
 * The `haproxy.cfg` the bench uses.
 *
 * @param port Loopback port to listen on.
 * @param backend `host:port` to forward to.
 * @returns The configuration text.
 * @example
 * ```ts
 * Deno.writeTextFileSync("/tmp/haproxy.cfg", haproxyConfig(3000, "127.0.0.1:8081"));
 * ```
 */
export function haproxyConfig(port: number, backend: string): string {
  return [
    "global",
    "  nbthread 1",
    "  maxconn 8000",
    "defaults",
    "  mode tcp",
    "  timeout connect 5s",
    "  timeout client 60s",
    "  timeout server 60s",
    "frontend fe",
    `  bind 127.0.0.1:${port}`,
    "  default_backend be",
    "backend be",
    `  server s1 ${backend}`,
    "",
  ].join("\n");
}

/**
 * Start HAProxy (`mode tcp`, `nbthread 1`) on a free loopback port.
 *
 * @param group Process tracking.
 * @param backend `host:port` to forward to.
 * @returns The target, named "haproxy".
 * @example
 * ```ts
 * const haproxy = await startHaproxy(new ProcessGroup(), "127.0.0.1:8081");
 * ```
 */
export function startHaproxy(group: ProcessGroup, backend: string): Promise<BenchTarget> {
  const port = freePort();
  const file = `${group.tempDir()}/haproxy.cfg`;
  Deno.writeTextFileSync(file, haproxyConfig(port, backend));
  return startExternal(group, "haproxy", "haproxy", ["-db", "-f", file], port);
}
