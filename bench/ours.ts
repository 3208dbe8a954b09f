/**
 * Our services as bench rows. Each row is one process running `bench/serve.ts` (which imports
 * the service's package) with the row's options as flags, so the load tester in the bench
 * process never shares an event loop with the service it measures.
 *
 * A row is `{ label, service, config }`; adding a variant (an I/O engine, a relay, a worker
 * count) is one more line in {@linkcode OUR_ROWS}.
 *
 * @module
 */

import { type EngineName, SERVICE_V8_FLAGS } from "@monkey/shared";
import { type BenchTarget, type ProcessGroup, READY_MS } from "./process_group.ts";
import { BANNERS } from "./serve.ts";

/** Service options as config keys (`relay`, `workers`, …), passed as `--key=value` flags. */
export type ServiceConfig = Readonly<Record<string, string | number | boolean>>;

/** One of our services in front of the bench's backend. */
export interface OurRow {
  /** Column name in the table, e.g. "proxy-deno-streams". */
  label: string;
  /** Which package serves it. */
  service: "proxy" | "lb";
  /** Its options, on top of {@linkcode COMMON_CONFIG}; `engine` is always set. */
  config: ServiceConfig & { engine: EngineName };
  /**
   * Which scenarios it runs: the whole matrix, or only the ones the goals use (1 KiB at 10,
   * 100 and 500 connections, 64 KiB at 10), which keeps the full run under 15 minutes.
   * @default "all"
   */
  scenarios?: "all" | "goals";
}

/** Our echo server as a row of its own (compared with the C echo server). */
export interface EchoRow {
  /** Column name, e.g. "echo-epoll". */
  label: string;
  /** Its options; `engine` is always set. */
  config: ServiceConfig & { engine: EngineName };
}

/** Options every service the bench starts gets: no HTTP endpoint, no periodic log line. */
export const COMMON_CONFIG: ServiceConfig = { metrics_addr: "off", metrics_log_interval_secs: 0 };

/**
 * The label of the single-threaded row of `service` on `engine`: `proxy-epoll`, `proxy-deno`
 * (loop relay), `lb-epoll`, `echo-deno`, … The goals, ratios and extras find rows by it.
 *
 * @param service Which service.
 * @param engine Which I/O engine.
 * @returns The label.
 * @example
 * ```ts
 * engineLabelOf("proxy", "epoll"); // "proxy-epoll"
 * ```
 */
export function engineLabelOf(service: "proxy" | "lb" | "echo", engine: EngineName): string {
  return `${service}-${engine}`;
}

/**
 * The proxy and load balancer rows, in table order: each engine, the deno engine's `streams`
 * relay, and two workers on epoll.
 */
export const OUR_ROWS: readonly OurRow[] = [
  { label: "proxy-epoll", service: "proxy", config: { engine: "epoll" } },
  { label: "proxy-deno", service: "proxy", config: { engine: "deno", relay: "loop" } },
  {
    label: "proxy-deno-streams",
    service: "proxy",
    config: { engine: "deno", relay: "streams" },
    scenarios: "goals",
  },
  {
    label: "proxy-2w",
    service: "proxy",
    config: { engine: "epoll", workers: 2 },
    scenarios: "goals",
  },
  { label: "lb-epoll", service: "lb", config: { engine: "epoll" }, scenarios: "goals" },
  { label: "lb-deno", service: "lb", config: { engine: "deno" }, scenarios: "goals" },
  { label: "lb-2w", service: "lb", config: { engine: "epoll", workers: 2 }, scenarios: "goals" },
];

/** Our echo server on each engine, run in the 10- and 100-connection 1 KiB scenarios. */
export const ECHO_ROWS: readonly EchoRow[] = [
  { label: "echo-epoll", config: { engine: "epoll" } },
  { label: "echo-deno", config: { engine: "deno" } },
];

/**
 * The rows that can run here: without the epoll engine (not Linux, no FFI) its rows go.
 *
 * @param rows Rows.
 * @param engines Engines available.
 * @returns The rows whose engine is available, in order.
 * @example
 * ```ts
 * rowsFor(OUR_ROWS, ["deno"]).map((r) => r.label); // ["proxy-deno", "proxy-deno-streams", "lb-deno"]
 * ```
 */
export function rowsFor<T extends { config: { engine: EngineName } }>(
  rows: readonly T[],
  engines: readonly EngineName[],
): T[] {
  return rows.filter((row) => engines.includes(row.config.engine));
}

/** How the banner ends when the HTTP endpoint is on. */
const METRICS_IN_BANNER = /metrics on http:\/\/(\S+)\/metrics/;
/** The engine the banner names. */
const ENGINE_IN_BANNER = /\(engine: (.*?)\)(?:;| \(pid|$)/;

const SERVE = new URL("./serve.ts", import.meta.url).pathname;
/**
 * What `serve.ts` may do: listen and connect, read config, read MONKEY_ADMIN_TOKEN, and call
 * libc through FFI (the epoll engine).
 */
export const SERVE_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-ffi",
];

/**
 * Config keys as flags: `{ relay: "loop", workers: 2 }` → `["--relay=loop", "--workers=2"]`.
 *
 * @param config Options.
 * @returns Flags in key order.
 * @example
 * ```ts
 * toFlags({ metrics_addr: "off" }); // ["--metrics-addr=off"]
 * ```
 */
export function toFlags(config: ServiceConfig): string[] {
  return Object.entries(config).map(([key, value]) => `--${key.replaceAll("_", "-")}=${value}`);
}

/**
 * Start `bench/serve.ts SERVICE` with flags and wait for its banner.
 *
 * @param group Process tracking.
 * @param label Row name.
 * @param service Package to serve.
 * @param flags Its flags (listen address included).
 * @returns The target.
 * @throws {Error} When no banner comes within {@linkcode READY_MS} or the process exits.
 * @example
 * ```ts
 * const echo = await startServe(new ProcessGroup(), "echo", "echo", ["--listen=127.0.0.1:0"]);
 * ```
 */
export async function startServe(
  group: ProcessGroup,
  label: string,
  service: keyof typeof BANNERS,
  flags: readonly string[],
): Promise<BenchTarget> {
  const [target] = await spawnServe(group, service, [{ label, flags }]);
  return target!;
}

/**
 * Two instances of a service in one process (`serve.ts SERVICE flagsA --and flagsB`), for
 * pairs compared side by side: they share the process's compiled code and memory layout, so
 * what differs between them is their configuration, not the luck of a process (fresh
 * processes of the same proxy ran 1 KiB ping-pong anywhere from 66k to 95k req/s here).
 * Stopping the first stops both.
 *
 * @param group Process tracking.
 * @param service `proxy` or `lb`.
 * @param a The first instance's row name and flags.
 * @param b The second's.
 * @returns Both targets (the same pid).
 * @throws {Error} When a banner does not come within {@linkcode READY_MS}.
 * @example
 * ```ts
 * const [plain, limited] = await startServePair(group, "proxy", { label: "proxy", flags }, {
 *   label: "proxy+limits", flags: [...flags, "--max-conn-rate-per-client=1000"] });
 * ```
 */
export async function startServePair(
  group: ProcessGroup,
  service: "proxy" | "lb",
  a: { label: string; flags: readonly string[] },
  b: { label: string; flags: readonly string[] },
): Promise<[BenchTarget, BenchTarget]> {
  const [first, second] = await spawnServe(group, service, [a, b]);
  return [first!, { ...second!, stop: async () => {} }];
}

/** Spawn serve.ts with one or two instances and wait for each one's banner. */
async function spawnServe(
  group: ProcessGroup,
  service: keyof typeof BANNERS,
  instances: readonly { label: string; flags: readonly string[] }[],
): Promise<BenchTarget[]> {
  const flags = instances.flatMap((x, i) => i === 0 ? x.flags : ["--and", ...x.flags]);
  const proc = group.spawn(Deno.execPath(), [
    "run",
    // The flags the service tasks run with (see SERVICE_V8_FLAGS): the bench measures those.
    `--v8-flags=${SERVICE_V8_FLAGS}`,
    ...SERVE_PERMISSIONS,
    SERVE,
    service,
    ...flags,
  ]);
  try {
    const targets: BenchTarget[] = [];
    for (const [i, { label }] of instances.entries()) {
      // The second instance's banner starts with "and " (serve.ts prints it).
      const banner = new RegExp(`${i === 0 ? "(?<!and )" : "and "}${BANNERS[service].source}`);
      const match = await proc.waitForLine(banner, READY_MS);
      const metrics = METRICS_IN_BANNER.exec(match.input)?.[1];
      const engine = ENGINE_IN_BANNER.exec(match.input)?.[1];
      targets.push({
        name: label,
        addr: match[1]!,
        pid: proc.child.pid,
        stop: () => group.stop(proc),
        ...(metrics ? { metricsAddr: metrics } : {}),
        ...(engine ? { engine } : {}),
      });
    }
    return targets;
  } catch (error) {
    await group.stop(proc);
    throw new Error(
      `Cannot start ${instances.map((x) => x.label).join(" and ")} (serve.ts ${service} ${
        flags.join(" ")
      }): ${(error as Error).message}; last output: ${proc.lines.slice(-3).join(" | ")}`,
    );
  }
}

/**
 * Start one of {@linkcode OUR_ROWS} in front of `upstream`.
 *
 * @param group Process tracking.
 * @param row The row.
 * @param upstream `host:port` it forwards to.
 * @param extra Options on top of the row's, e.g. `{ metrics_addr: "127.0.0.1:0" }`.
 * @returns The target, named after the row (with `metricsAddr` when the endpoint is on).
 * @example
 * ```ts
 * const proxy = await startOurs(new ProcessGroup(), OUR_ROWS[0]!, "127.0.0.1:8081");
 * ```
 */
export function startOurs(
  group: ProcessGroup,
  row: OurRow,
  upstream: string,
  extra: ServiceConfig = {},
): Promise<BenchTarget> {
  const to = row.service === "proxy" ? { target_addr: upstream } : { backend: upstream };
  const flags = toFlags({
    listen_addr: "127.0.0.1:0",
    ...to,
    ...COMMON_CONFIG,
    ...row.config,
    ...extra,
  });
  return startServe(group, row.label, row.service, flags);
}

/**
 * Start the row labelled `label` (e.g. "proxy-epoll") in front of `upstream`.
 *
 * @param group Process tracking.
 * @param label A label from {@linkcode OUR_ROWS}.
 * @param upstream `host:port` it forwards to.
 * @returns The target.
 * @throws {Error} When no row has that label.
 * @example
 * ```ts
 * const lb = await startOursByLabel(new ProcessGroup(), "lb-epoll", "127.0.0.1:8081");
 * ```
 */
export function startOursByLabel(
  group: ProcessGroup,
  label: string,
  upstream: string,
): Promise<BenchTarget> {
  const row = OUR_ROWS.find((r) => r.label === label);
  if (!row) {
    throw new Error(
      `Cannot start row '${label}': expected one of ${OUR_ROWS.map((r) => r.label).join(", ")}`,
    );
  }
  return startOurs(group, row, upstream);
}

/**
 * Our echo server (a row of its own, and the backend when the C echo server is not built).
 *
 * @param group Process tracking.
 * @param row Label and engine. @default the deno engine, labelled "echo-deno"
 * @returns The target.
 * @example
 * ```ts
 * const echo = await startOurEcho(new ProcessGroup(), ECHO_ROWS[0]!);
 * ```
 */
export function startOurEcho(
  group: ProcessGroup,
  row: EchoRow = { label: "echo-deno", config: { engine: "deno" } },
): Promise<BenchTarget> {
  return startServe(
    group,
    row.label,
    "echo",
    toFlags({ listen_addr: "127.0.0.1:0", ...COMMON_CONFIG, ...row.config }),
  );
}
