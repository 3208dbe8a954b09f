/**
 * A real HAProxy in front of a service under test: TCP mode, one server line (e.g.
 * `send-proxy-v2`), on a free loopback port. Tests skip with a message when it is absent.
 *
 * @module
 */

import { dial } from "./peers.ts";
import { type LineProcess, spawnLines } from "./process.ts";
import { waitFor } from "./wait.ts";

const HAPROXY_PATHS = ["/usr/sbin/haproxy", "/usr/bin/haproxy"];

/**
 * Where HAProxy is installed, or undefined.
 *
 * @returns The path of the binary.
 * @example
 * ```ts
 * Deno.test({ name: "...", ignore: haproxyPath() === undefined, fn() {} });
 * ```
 */
export function haproxyPath(): string | undefined {
  return HAPROXY_PATHS.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** A running HAProxy; disposing stops it and removes its folder. */
export interface FrontHaproxy extends AsyncDisposable {
  /** Where clients connect, `127.0.0.1:PORT`. */
  readonly addr: string;
  /** The process and its output. */
  readonly process: LineProcess;
  /** Stop it and remove its configuration. */
  close(): Promise<void>;
}

/**
 * Start HAProxy in TCP mode in front of `server` and wait until it accepts. The readiness
 * probes reach `server` too (a test that counts connections there must allow for them).
 *
 * @param server The service's `host:port`.
 * @param serverOptions Words after the server address, e.g. `send-proxy-v2`.
 * @returns The running HAProxy.
 * @throws {Error} When HAProxy is not installed or does not listen in time.
 * @example
 * ```ts
 * await using haproxy = await startFrontHaproxy(proxy.addr, "send-proxy-v2");
 * ```
 */
export async function startFrontHaproxy(
  server: string,
  serverOptions = "",
): Promise<FrontHaproxy> {
  const path = haproxyPath();
  if (path === undefined) throw new Error("haproxy is not installed");
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const dir = await Deno.makeTempDir({ prefix: "monkey-haproxy-" });
  await Deno.writeTextFile(
    `${dir}/haproxy.cfg`,
    [
      "global",
      "  maxconn 64",
      "defaults",
      "  mode tcp",
      "  timeout connect 2s",
      "  timeout client 10s",
      "  timeout server 10s",
      "frontend f",
      `  bind 127.0.0.1:${port}`,
      "  default_backend b",
      "backend b",
      `  server s1 ${server} ${serverOptions}`.trimEnd(),
      "",
    ].join("\n"),
  );
  const process = spawnLines(path, ["-db", "-f", `${dir}/haproxy.cfg`]);
  const addr = `127.0.0.1:${port}`;
  const close = async () => {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await waitFor(async () => {
      try {
        (await dial(addr)).close();
        return true;
      } catch {
        return false;
      }
    }, "haproxy to listen");
  } catch (error) {
    await close();
    throw error;
  }
  return { addr, process, close, [Symbol.asyncDispose]: close };
}
