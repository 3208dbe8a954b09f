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

import { type BenchTarget, type ProcessGroup, READY_MS } from "./process_group.ts";
import { BANNERS } from "./serve.ts";

/** Service options as config keys (`relay`, `workers`, …), passed as `--key=value` flags. */
export type ServiceConfig = Readonly<Record<string, string | number | boolean>>;

/** One of our services in front of the bench's backend. */
export interface OurRow {
  /** Column name in the table, e.g. "proxy-streams". */
  label: string;
  /** Which package serves it. */
  service: "proxy" | "lb";
  /** Its options, on top of {@linkcode COMMON_CONFIG}. */
  config: ServiceConfig;
}

/** Options every service the bench starts gets: no HTTP endpoint, no periodic log line. */
export const COMMON_CONFIG: ServiceConfig = { metrics_addr: "off", metrics_log_interval_secs: 0 };

/**
 * The proxy and load balancer rows, in table order. `proxy` and `lb` are also the rows the
 * memory, bulk and HTTP measurements use, and the ratios in the table refer to these labels.
 */
export const OUR_ROWS: readonly OurRow[] = [
  { label: "proxy", service: "proxy", config: { relay: "loop" } },
  { label: "proxy-streams", service: "proxy", config: { relay: "streams" } },
  { label: "proxy-2w", service: "proxy", config: { relay: "loop", workers: 2 } },
  { label: "lb", service: "lb", config: {} },
  { label: "lb-2w", service: "lb", config: { workers: 2 } },
];

const SERVE = new URL("./serve.ts", import.meta.url).pathname;
/** What `serve.ts` may do: listen and connect, read config, read MONKEY_ADMIN_TOKEN. */
const SERVE_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-env"];

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
  const proc = group.spawn(Deno.execPath(), [
    "run",
    ...SERVE_PERMISSIONS,
    SERVE,
    service,
    ...flags,
  ]);
  try {
    const [, addr] = await proc.waitForLine(BANNERS[service], READY_MS);
    return { name: label, addr: addr!, pid: proc.child.pid, stop: () => group.stop(proc) };
  } catch (error) {
    await group.stop(proc);
    throw new Error(
      `Cannot start ${label} (serve.ts ${service} ${flags.join(" ")}): ${
        (error as Error).message
      }; last output: ${proc.lines.slice(-3).join(" | ")}`,
    );
  }
}

/**
 * Start one of {@linkcode OUR_ROWS} in front of `upstream`.
 *
 * @param group Process tracking.
 * @param row The row.
 * @param upstream `host:port` it forwards to.
 * @returns The target, named after the row.
 * @example
 * ```ts
 * const proxy = await startOurs(new ProcessGroup(), OUR_ROWS[0]!, "127.0.0.1:8081");
 * ```
 */
export function startOurs(
  group: ProcessGroup,
  row: OurRow,
  upstream: string,
): Promise<BenchTarget> {
  const to = row.service === "proxy" ? { target_addr: upstream } : { backend: upstream };
  const flags = toFlags({ listen_addr: "127.0.0.1:0", ...to, ...COMMON_CONFIG, ...row.config });
  return startServe(group, row.label, row.service, flags);
}

/**
 * Start the row labelled `label` (e.g. "proxy") in front of `upstream`.
 *
 * @param group Process tracking.
 * @param label A label from {@linkcode OUR_ROWS}.
 * @param upstream `host:port` it forwards to.
 * @returns The target.
 * @throws {Error} When no row has that label.
 * @example
 * ```ts
 * const lb = await startOursByLabel(new ProcessGroup(), "lb", "127.0.0.1:8081");
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
 * @param label Row name. @default "echo (deno)"
 * @returns The target.
 * @example
 * ```ts
 * const echo = await startOurEcho(new ProcessGroup());
 * ```
 */
export function startOurEcho(group: ProcessGroup, label = "echo (deno)"): Promise<BenchTarget> {
  return startServe(
    group,
    label,
    "echo",
    toFlags({ listen_addr: "127.0.0.1:0", ...COMMON_CONFIG }),
  );
}
