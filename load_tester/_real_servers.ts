/**
 * A real `redis-server` and `nginx` on a free loopback port in a temporary directory, for the
 * protocol tests and `compare_peers.ts`. System services are never touched.
 *
 * @module
 */

import { connectTcp, DENO_ENGINE } from "@monkey/shared";
import { freePort, writeNginxConfig } from "@monkey/testing";

/** A server process started here. */
export interface RealServer extends AsyncDisposable {
  /** `127.0.0.1:port`. */
  addr: string;
  /** Its temporary directory (a small file `index.html` for nginx). */
  dir: string;
  /** Stop it and remove its directory. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 5000;
const POLL_MS = 20;

/**
 * Whether a program is on PATH (false without the env and read permissions to look).
 *
 * @param name Program name.
 * @returns True when `which` finds it.
 */
export function hasProgram(name: string): boolean {
  const granted = (p: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(p).state === "granted";
  // Without these permissions the tests that need the program are skipped anyway.
  if (!granted({ name: "env", variable: "PATH" }) || !granted({ name: "read" })) return false;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat("/usr/sbin", "/sbin")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

async function start(
  program: string,
  args: (port: number, dir: string) => string[],
  setup: (port: number, dir: string) => void = () => {},
): Promise<RealServer> {
  const dir = await Deno.makeTempDir({ prefix: `monkey-${program}-` });
  const port = freePort();
  setup(port, dir);
  const child = new Deno.Command(program, {
    args: args(port, dir),
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const status = child.status;
  let exited = false;
  status.then(() => (exited = true));
  const addr = `127.0.0.1:${port}`;
  const close = async () => {
    if (!exited) child.kill("SIGTERM");
    await status;
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      (await connectTcp(addr, { timeoutMs: 500, engine: DENO_ENGINE })).close();
      break;
    } catch (error) {
      if (exited || performance.now() > deadline) {
        await close();
        throw new Error(`${program} did not start on ${addr}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  return { addr, dir, close, [Symbol.asyncDispose]: close };
}

/**
 * Start `redis-server` (no persistence) on a free port.
 *
 * @param extra Extra arguments, e.g. `["--requirepass", "secret"]`.
 * @returns The server.
 * @example
 * ```ts
 * await using redis = await startRedis();
 * ```
 */
export function startRedis(extra: string[] = []): Promise<RealServer> {
  return start("redis-server", (port, dir) => [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--daemonize",
    "no",
    ...extra,
  ]);
}

/**
 * Start nginx (one worker, no master, keep-alive without a request limit) serving a small
 * `index.html` on a free port.
 *
 * @returns The server.
 * @example
 * ```ts
 * await using nginx = await startNginx();
 * ```
 */
export function startNginx(): Promise<RealServer> {
  return start(
    "nginx",
    (_, dir) => ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`],
    (port, dir) => {
      Deno.writeTextFileSync(`${dir}/index.html`, "hello from nginx\n");
      writeNginxConfig({
        dir,
        errorLog: `${dir}/error.log error`,
        workerConnections: 4096,
        body: `http {
  access_log off;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp;
  scgi_temp_path ${dir}/tmp;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:${port}; root ${dir}; }
}`,
      });
    },
  );
}
