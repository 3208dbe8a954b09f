/**
 * `deno task demo`: three echo servers, the load balancer in front of them and the proxy in
 * front of the balancer, as one process tree. Every line is prefixed with its service
 * (`[echo-1] ...`); one Ctrl+C (or SIGTERM) stops them all.
 *
 * ```
 * client -> proxy 127.0.0.1:3000 -> lb 127.0.0.1:4000 -> echo 127.0.0.1:8081..8083
 * ```
 *
 * `--any-port` binds every service to a free port instead (tests use it).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SERVICE_V8_FLAGS } from "@monkey/shared";

/** One service of the demo. */
export interface DemoService {
  /** Log prefix, e.g. `echo-1`. */
  readonly name: string;
  /** `deno` arguments that run it. */
  readonly args: readonly string[];
  /** The startup line; group 1 is the address it listens on. */
  readonly ready: RegExp;
}

/** Ports of the demo (0 everywhere with `--any-port`). */
export interface DemoPorts {
  /** The echo servers' ports. */
  echo: readonly number[];
  /** The balancer's port. */
  lb: number;
  /** The proxy's port. */
  proxy: number;
  /** Metrics ports: echo servers, lb, proxy (0 = any). */
  metrics: readonly number[];
}

/** The fixed ports `deno task demo` uses. */
export const DEMO_PORTS: DemoPorts = {
  echo: [8081, 8082, 8083],
  lb: 4000,
  proxy: 3000,
  metrics: [9101, 9102, 9103, 9092, 9090],
};

/** Grace period of each service in the demo: Ctrl+C should not wait 30 s. */
const DEMO_GRACE_SECS = 2;
const RUN = [
  "run",
  `--v8-flags=${SERVICE_V8_FLAGS}`,
  "--allow-net",
  "--allow-ffi",
  "--allow-read",
];

function moduleOf(path: string): string {
  return new URL(`../${path}`, import.meta.url).pathname;
}

function common(metricsPort: number): string[] {
  return ["--metrics", `127.0.0.1:${metricsPort}`, "--grace-period-secs", `${DEMO_GRACE_SECS}`];
}

/**
 * The echo servers' command lines.
 *
 * @param ports The demo's ports.
 * @returns One service per echo server.
 * @example
 * ```ts
 * echoServices(DEMO_PORTS).map((s) => s.name); // ["echo-1", "echo-2", "echo-3"]
 * ```
 */
export function echoServices(ports: DemoPorts): DemoService[] {
  return ports.echo.map((port, i) => ({
    name: `echo-${i + 1}`,
    args: [
      ...RUN,
      moduleOf("echo/main.ts"),
      "--config",
      moduleOf("echo/echo.toml"),
      "--listen",
      `127.0.0.1:${port}`,
      ...common(ports.metrics[i] ?? 0),
    ],
    ready: /echoing on (\S+)/,
  }));
}

/**
 * The balancer's command line, in front of `backends`.
 *
 * @param ports The demo's ports.
 * @param backends The echo servers' addresses.
 * @returns The service.
 * @example
 * ```ts
 * lbService(DEMO_PORTS, ["127.0.0.1:8081"]).name; // "lb"
 * ```
 */
export function lbService(ports: DemoPorts, backends: readonly string[]): DemoService {
  return {
    name: "lb",
    args: [
      ...RUN,
      "--allow-env=MONKEY_ADMIN_TOKEN",
      moduleOf("load_balancer/main.ts"),
      "--listen",
      `127.0.0.1:${ports.lb}`,
      ...backends.flatMap((addr) => ["--backend", addr]),
      ...common(ports.metrics[3] ?? 0),
    ],
    ready: /balancing (\S+) ->/,
  };
}

/**
 * The proxy's command line, in front of `target`.
 *
 * @param ports The demo's ports.
 * @param target The balancer's address.
 * @returns The service.
 * @example
 * ```ts
 * proxyService(DEMO_PORTS, "127.0.0.1:4000").name; // "proxy"
 * ```
 */
export function proxyService(ports: DemoPorts, target: string): DemoService {
  return {
    name: "proxy",
    args: [
      ...RUN,
      moduleOf("proxy/main.ts"),
      "--config",
      moduleOf("proxy/proxy.toml"),
      "--listen",
      `127.0.0.1:${ports.proxy}`,
      "--target",
      target,
      ...common(ports.metrics[4] ?? 0),
    ],
    ready: /proxying (\S+) ->/,
  };
}

/** A started service: its child process and the address it printed. */
interface Running {
  readonly service: DemoService;
  readonly child: Deno.ChildProcess;
  readonly addr: Promise<string>;
  readonly exited: Promise<Deno.CommandStatus>;
}

/** Copy a stream to stdout line by line with a `[name] ` prefix; `onLine` sees each line. */
async function prefixLines(
  stream: ReadableStream<Uint8Array>,
  name: string,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  const emit = (line: string) => {
    console.log(`[${name}] ${line}`);
    onLine(line);
  };
  for await (const chunk of stream) {
    const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = parts.pop() ?? "";
    for (const line of parts) emit(line);
  }
  if (rest !== "") emit(rest);
}

function start(service: DemoService): Running {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...service.args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const ready = Promise.withResolvers<string>();
  const onLine = (line: string) => {
    const match = service.ready.exec(line);
    if (match) ready.resolve(match[1]!);
  };
  const output = Promise.all([
    prefixLines(child.stdout, service.name, onLine),
    prefixLines(child.stderr, service.name, onLine),
  ]);
  const exited = output.then(() => child.status);
  exited.then((status) =>
    ready.reject(new Error(`${service.name} exited (code ${status.code}) before it was ready`))
  );
  ready.promise.catch(() => {});
  return { service, child, addr: ready.promise, exited };
}

/**
 * Start the demo and run it until SIGINT or SIGTERM, which is passed on to every service.
 *
 * @param ports The ports to use.
 * @returns The exit code: 0 when every service stopped cleanly.
 * @example
 * ```ts
 * Deno.exit(await runDemo(DEMO_PORTS));
 * ```
 */
export async function runDemo(ports: DemoPorts): Promise<number> {
  const running: Running[] = [];
  const stopAll = (signal: Deno.Signal) => {
    for (const r of running) {
      try {
        r.child.kill(signal);
      } catch {
        // already exited
      }
    }
  };
  // Each user signal is passed on once; a child that has finished its shutdown must not get
  // another (it no longer handles signals and would be killed by it).
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    stopAll("SIGTERM");
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    const echoes = echoServices(ports).map(start);
    running.push(...echoes);
    const backends = await Promise.all(echoes.map((r) => r.addr));
    const lb = start(lbService(ports, backends));
    running.push(lb);
    const proxy = start(proxyService(ports, await lb.addr));
    running.push(proxy);
    const entry = await proxy.addr;
    console.log(
      `[demo] ready: ${entry} (proxy) -> ${await lb.addr} (lb) -> ${
        backends.join(", ")
      } (echo); try: nc ${entry.replace(":", " ")}; Ctrl+C stops all`,
    );
  } catch (error) {
    console.error(`[demo] ${(error as Error).message}; stopping the others`);
    stopAll("SIGTERM");
    await Promise.all(running.map((r) => r.exited));
    return 1;
  }
  // The signal listeners stay until every child is gone (a second Ctrl+C is passed on too).
  // A service that dies on its own takes the demo down with it.
  const first = await Promise.race(running.map((r) => r.exited.then((status) => ({ r, status }))));
  if (!stopping) {
    console.error(
      `[demo] ${first.r.service.name} exited (code ${first.status.code}); stopping all`,
    );
    stopAll("SIGTERM");
  }
  const statuses = await Promise.all(running.map((r) => r.exited));
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
  const failed = running.flatMap((r, i) =>
    statuses[i]!.success ? [] : [`${r.service.name} (code ${statuses[i]!.code})`]
  );
  console.log(`[demo] stopped${failed.length > 0 ? `; failed: ${failed.join(", ")}` : ""}`);
  return stopping && failed.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { "any-port": { type: "boolean" } } });
  const ports = values["any-port"]
    ? { echo: [0, 0, 0], lb: 0, proxy: 0, metrics: [0, 0, 0, 0, 0] }
    : DEMO_PORTS;
  Deno.exit(await runDemo(ports));
}
