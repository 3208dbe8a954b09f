/**
 * HAProxy as a bench row: `mode tcp`, one thread, in front of the bench's backend; with a
 * certificate it terminates TLS (`bind … ssl crt`). Debian/Ubuntu package: `haproxy`.
 *
 * @module
 */

import { type BenchTarget, freePort, type ProcessGroup, startExternal } from "./process_group.ts";

/** A certificate and its key, PEM file paths. */
export interface PemFiles {
  /** The certificate (chain). */
  cert: string;
  /** Its private key. */
  key: string;
}

/**
 * The `haproxy.cfg` the bench uses.
 *
 * @param port Loopback port to listen on.
 * @param backend `host:port` to forward to.
 * @param crt Terminate TLS with this PEM file (certificate and key in one file).
 * @returns The configuration text.
 * @example
 * ```ts
 * Deno.writeTextFileSync("/tmp/haproxy.cfg", haproxyConfig(3000, "127.0.0.1:8081"));
 * ```
 */
export function haproxyConfig(port: number, backend: string, crt?: string): string {
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
    `  bind 127.0.0.1:${port}${crt === undefined ? "" : ` ssl crt ${crt}`}`,
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
 * @param tls Terminate TLS with this certificate (HAProxy reads it with its key from one file).
 * @returns The target, named "haproxy" (or "haproxy-tls").
 * @example
 * ```ts
 * const haproxy = await startHaproxy(new ProcessGroup(), "127.0.0.1:8081");
 * ```
 */
export function startHaproxy(
  group: ProcessGroup,
  backend: string,
  tls?: PemFiles,
): Promise<BenchTarget> {
  const port = freePort();
  const dir = group.tempDir();
  let crt: string | undefined;
  if (tls !== undefined) {
    crt = `${dir}/haproxy.pem`;
    Deno.writeTextFileSync(crt, Deno.readTextFileSync(tls.cert) + Deno.readTextFileSync(tls.key));
  }
  const file = `${dir}/haproxy.cfg`;
  Deno.writeTextFileSync(file, haproxyConfig(port, backend, crt));
  const name = tls === undefined ? "haproxy" : "haproxy-tls";
  return startExternal(group, name, "haproxy", ["-db", "-f", file], port);
}
