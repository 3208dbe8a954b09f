/**
 * What `deno task bench` measures: our services and the peers (HAProxy, nginx stream, the C
 * yardsticks), each started on loopback ports it picks and always stopped again.
 *
 * @module
 */

import { type LineProcess, spawnLines } from "@monkey/testing";

/** A started process that serves TCP on `addr`. */
export interface BenchTarget {
  /** Short name shown in the table, e.g. "haproxy". */
  name: string;
  /** Where clients connect, `127.0.0.1:port`. */
  addr: string;
  /** The serving process (for RSS and CPU readings). */
  pid: number;
  /** Stop it. */
  stop(): Promise<void>;
}

/** Tracks every process the bench starts so all are stopped, also on Ctrl+C or error. */
export class ProcessGroup {
  #procs = new Set<LineProcess>();
  #dirs = new Set<string>();

  /**
   * Start and track a process.
   *
   * @param command Program.
   * @param args Arguments.
   * @returns The process.
   */
  spawn(command: string, args: readonly string[]): LineProcess {
    const proc = spawnLines(command, args);
    this.#procs.add(proc);
    return proc;
  }

  /**
   * A temporary directory removed on {@linkcode ProcessGroup.stopAll}.
   *
   * @returns Its path.
   */
  tempDir(): string {
    const dir = Deno.makeTempDirSync({ prefix: "monkey-bench-" });
    this.#dirs.add(dir);
    return dir;
  }

  /**
   * Stop one process.
   *
   * @param proc A process from {@linkcode ProcessGroup.spawn}.
   */
  async stop(proc: LineProcess): Promise<void> {
    this.#procs.delete(proc);
    await proc.stop("SIGKILL");
  }

  /** Stop everything still running and remove temporary directories. */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#procs].map((proc) => proc.stop("SIGKILL")));
    this.#procs.clear();
    for (const dir of this.#dirs) Deno.removeSync(dir, { recursive: true });
    this.#dirs.clear();
  }
}

/**
 * A free loopback port (bound, then released: the small race is acceptable for a bench on
 * loopback, and the C tools and peers need a port number up front).
 *
 * @returns A port number.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * Whether a program is on PATH.
 *
 * @param program Name.
 * @returns True when it runs.
 */
export function hasProgram(program: string): boolean {
  try {
    const out = new Deno.Command("sh", {
      args: ["-c", `command -v ${program}`],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Compile a C yardstick from `../shared/tools` (beside the checkout) into a temp dir.
 *
 * @param group For the temp dir.
 * @param root Repository root.
 * @param name `pingpong` or `echo_srv`.
 * @returns The binary's path, or undefined when the source or a compiler is missing.
 */
export function buildYardstick(
  group: ProcessGroup,
  root: string,
  name: string,
): string | undefined {
  const source = `${root}/../shared/tools/${name}.c`;
  try {
    Deno.statSync(source);
  } catch {
    return undefined;
  }
  if (!hasProgram("cc")) return undefined;
  const out = `${group.tempDir()}/${name}`;
  const result = new Deno.Command("cc", {
    args: ["-O2", "-o", out, source],
    stdout: "null",
    stderr: "null",
  })
    .outputSync();
  return result.success ? out : undefined;
}

const READY_MS = 15_000;

/**
 * Start one of our services as `deno run … main.ts` on port 0 and read its bound address.
 *
 * @param group Process tracking.
 * @param root Repository root.
 * @param name Row name.
 * @param main Path of the service's main.ts, relative to root.
 * @param args Flags.
 * @param ready Banner pattern whose first group is the bound address.
 * @returns The target.
 */
export async function startDenoService(
  group: ProcessGroup,
  root: string,
  name: string,
  main: string,
  args: readonly string[],
  ready: RegExp,
): Promise<BenchTarget> {
  const proc = group.spawn(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    `${root}/${main}`,
    "--metrics",
    "off",
    "--metrics-log-interval-secs",
    "0",
    ...args,
  ]);
  const [, addr] = await proc.waitForLine(ready, READY_MS);
  return { name, addr: addr!, pid: proc.child.pid, stop: () => group.stop(proc) };
}

/**
 * Start a process listening on a fixed port and wait until the port accepts.
 *
 * @param group Process tracking.
 * @param name Row name.
 * @param command Program.
 * @param args Arguments.
 * @param port The port it will listen on.
 * @param pid Reads the serving pid (e.g. nginx's worker); default the child's.
 * @returns The target.
 */
export async function startExternal(
  group: ProcessGroup,
  name: string,
  command: string,
  args: readonly string[],
  port: number,
  pid?: () => number | undefined,
): Promise<BenchTarget> {
  const proc = group.spawn(command, args);
  const deadline = performance.now() + READY_MS;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (performance.now() > deadline) {
        await group.stop(proc);
        throw new Error(
          `${name} did not listen on 127.0.0.1:${port}: ${proc.lines.slice(-3).join(" | ")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return {
    name,
    addr: `127.0.0.1:${port}`,
    pid: pid?.() ?? proc.child.pid,
    stop: () => group.stop(proc),
  };
}

/**
 * HAProxy 2.x in `mode tcp` with one thread, as the issue compares against.
 *
 * @param group Process tracking.
 * @param backend `host:port` to forward to.
 * @returns The target.
 */
export function startHaproxy(group: ProcessGroup, backend: string): Promise<BenchTarget> {
  const port = freePort();
  const dir = group.tempDir();
  Deno.writeTextFileSync(
    `${dir}/haproxy.cfg`,
    [
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
    ].join("\n"),
  );
  return startExternal(group, "haproxy", "haproxy", ["-db", "-f", `${dir}/haproxy.cfg`], port);
}

const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

/**
 * nginx with the stream module (`proxy_pass`), one worker.
 *
 * @param group Process tracking.
 * @param backend `host:port` to forward to.
 * @returns The target, or undefined when the stream module is not installed.
 */
export function startNginxStream(
  group: ProcessGroup,
  backend: string,
): Promise<BenchTarget> | undefined {
  let module = "";
  try {
    Deno.statSync(NGINX_STREAM_MODULE);
    module = `load_module ${NGINX_STREAM_MODULE};`;
  } catch {
    return undefined;
  }
  const port = freePort();
  const dir = group.tempDir();
  Deno.writeTextFileSync(
    `${dir}/nginx.conf`,
    `${module}
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr error;
events { worker_connections 8192; }
stream {
  server {
    listen 127.0.0.1:${port};
    proxy_pass ${backend};
    tcp_nodelay on;
  }
}
`,
  );
  return startExternal(group, "nginx", "nginx", ["-p", dir, "-c", `${dir}/nginx.conf`], port);
}

/**
 * Resident memory of a process in bytes, read with `ps` (Deno allows reading another
 * process's `/proc/PID/status` only with --allow-all).
 *
 * @param pid Process id.
 * @returns RSS bytes, or NaN when unreadable.
 */
export function rssBytes(pid: number): number {
  try {
    const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stderr: "null" })
      .outputSync();
    const kib = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && Number.isFinite(kib) ? kib * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * RSS per established idle connection: open `count` connections through `target`, exchange one
 * byte on each so both legs exist, read the RSS growth, close them.
 *
 * @param target The proxy under test.
 * @param count Connections to open.
 * @returns Bytes of RSS per connection.
 */
export async function rssPerIdleConnection(target: BenchTarget, count: number): Promise<number> {
  const [host, portText] = [
    target.addr.slice(0, target.addr.lastIndexOf(":")),
    target.addr.slice(target.addr.lastIndexOf(":") + 1),
  ];
  const port = Number(portText);
  const warm: Deno.Conn[] = [];
  const conns: Deno.Conn[] = [];
  const byte = new Uint8Array(1);
  const roundTrip = async (conn: Deno.Conn) => {
    await conn.write(byte);
    await conn.read(new Uint8Array(1));
  };
  try {
    for (let i = 0; i < 20; i++) warm.push(await Deno.connect({ hostname: host, port }));
    await Promise.all(warm.map(roundTrip));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = rssBytes(target.pid);
    for (let i = 0; i < count; i++) conns.push(await Deno.connect({ hostname: host, port }));
    await Promise.all(conns.map(roundTrip));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = rssBytes(target.pid);
    return (after - before) / count;
  } finally {
    for (const conn of [...warm, ...conns]) conn.close();
  }
}

/**
 * Run the C ping-pong client: `pingpong PORT CONNS SIZE SECS`.
 *
 * @param binary Path of the compiled client.
 * @param addr Target (loopback, port used).
 * @param connections Connections.
 * @param size Bytes per message.
 * @param secs Seconds.
 * @returns Requests/s and latency in µs.
 */
export async function runPingpongC(
  binary: string,
  addr: string,
  connections: number,
  size: number,
  secs: number,
): Promise<{ rps: number; p50_us: number; p99_us: number; errors: number }> {
  const port = addr.slice(addr.lastIndexOf(":") + 1);
  const out = await new Deno.Command(binary, {
    args: [port, String(connections), String(size), String(secs)],
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const field = (name: string) => Number(new RegExp(`${name}=([\\d.]+)`).exec(text)?.[1] ?? NaN);
  return {
    rps: field("rps"),
    p50_us: field("p50_us"),
    p99_us: field("p99_us"),
    errors: field("errors"),
  };
}

/**
 * An iperf3 server on a free port (it serves one test at a time; the bench runs them in turn).
 *
 * @param group Process tracking.
 * @returns The target.
 */
export function startIperfServer(group: ProcessGroup): Promise<BenchTarget> {
  const port = freePort();
  return startExternal(
    group,
    "iperf3",
    "iperf3",
    ["-s", "-B", "127.0.0.1", "-p", String(port)],
    port,
  );
}

/**
 * Bulk transfer with iperf3 through `addr` (client to server).
 *
 * @param addr Where the iperf3 client connects (the server itself or a proxy in front of it).
 * @param secs Seconds.
 * @returns Received bits per second, or NaN when the run failed.
 */
export async function runIperf(addr: string, secs: number): Promise<number> {
  const port = addr.slice(addr.lastIndexOf(":") + 1);
  const out = await new Deno.Command("iperf3", {
    args: ["-c", "127.0.0.1", "-p", port, "-t", String(secs), "-J"],
    stderr: "null",
  }).output();
  try {
    const json = JSON.parse(new TextDecoder().decode(out.stdout));
    return Number(json.end?.sum_received?.bits_per_second ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * nginx as an HTTP server answering `200 OK` with a short body: the HTTP keep-alive backend.
 *
 * @param group Process tracking.
 * @returns The target.
 */
export function startNginxHttp(group: ProcessGroup): Promise<BenchTarget> {
  const port = freePort();
  const dir = group.tempDir();
  Deno.writeTextFileSync(
    `${dir}/nginx-http.conf`,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx-http.pid;
error_log stderr error;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "monkey\\n"; }
  }
}
`,
  );
  return startExternal(
    group,
    "nginx-http",
    "nginx",
    ["-p", dir, "-c", `${dir}/nginx-http.conf`],
    port,
  );
}

/**
 * HTTP keep-alive load with wrk through `addr`.
 *
 * @param addr Target.
 * @param connections Connections.
 * @param secs Seconds.
 * @returns Requests per second, or NaN when the run failed.
 */
export async function runWrk(addr: string, connections: number, secs: number): Promise<number> {
  const out = await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, `-d${Math.max(1, Math.round(secs))}s`, `http://${addr}/`],
    stderr: "null",
  }).output();
  const match = /Requests\/sec:\s+([\d.]+)/.exec(new TextDecoder().decode(out.stdout));
  return match ? Number(match[1]) : NaN;
}
