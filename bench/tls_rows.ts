/**
 * TLS termination side by side: our proxy and load balancer with `tls_cert`/`tls_key`
 * (engine `auto`; TLS runs on the deno engine, and the row says which engine really ran),
 * HAProxy (`bind … ssl crt`) and nginx's stream module (`listen … ssl`), all in front of the
 * same plain echo backend, 1 KiB ping-pong on 10 connections, the client speaking TLS
 * (our load tester's `--tls`), runs interleaved, medians per target.
 *
 * @module
 */

import type { ClientTlsSettings, Scenario } from "@monkey/load-tester";
import { formatMicros } from "@monkey/shared";
import { testCertPaths, TLS_TESTDATA } from "@monkey/testing";
import type { BenchOptions } from "./args.ts";
import { type PemFiles, startHaproxy } from "./haproxy.ts";
import { cellOf, type PlannedTarget, runMatrix } from "./matrix.ts";
import { startNginxStream } from "./nginx.ts";
import { COMMON_CONFIG, startServe, startServePair, toFlags } from "./ours.ts";
import { type BenchTarget, hasProgram, type ProcessGroup } from "./process_group.ts";
import { type BenchCell, markdownTable, ratio } from "./table.ts";

/** One target of the TLS termination rows. */
export interface TlsRow {
  /** Column name: `proxy-tls`, `lb-tls`, `haproxy-tls`, `nginx-tls`. */
  target: string;
  /** The engine it ran: ours from its banner (`deno (TLS needs it)`); `-` for the peers. */
  engine: string;
  /** Medians over the runs. */
  cell: BenchCell;
}

/** The certificate every TLS target presents: the test certificate for `localhost`. */
export const BENCH_CERT: PemFiles = testCertPaths("localhost");

/**
 * What the bench's TLS client trusts: the test CA, for the name `localhost`.
 *
 * @returns The client's TLS settings.
 * @example
 * ```ts
 * const tls = benchClientTls(); // { caCerts: [ca.pem], sni: "localhost", insecure: false }
 * ```
 */
export function benchClientTls(): ClientTlsSettings {
  return {
    caCerts: [Deno.readTextFileSync(`${TLS_TESTDATA}ca.pem`)],
    sni: "localhost",
    insecure: false,
  };
}

/**
 * The one ping-pong shape of the TLS and cost rows: 1 KiB on 10 connections.
 *
 * @param name Scenario name.
 * @param options Seconds per run.
 * @returns The scenario.
 * @example
 * ```ts
 * const scenario = rowScenario("tls", parseBenchArgs([]));
 * ```
 */
export function rowScenario(name: string, options: BenchOptions): Scenario {
  return {
    name,
    mode: "pingpong",
    connections: 10,
    message_size: 1024,
    duration_secs: options.secs,
    rate: 0,
    warmup_secs: options.quick ? 0.2 : 0.5,
  };
}

/**
 * Start one of our services from the bench's flags (`engine = "auto"`, no endpoint) plus
 * `config`.
 *
 * @param group Process tracking.
 * @param label Row name.
 * @param service Which service.
 * @param config Its options (the upstream key included).
 * @returns The target, with the engine its banner names.
 * @example
 * ```ts
 * const lb = await startAuto(group, "lb-tls", "lb", { backend: "127.0.0.1:8081" });
 * ```
 */
export function startAuto(
  group: ProcessGroup,
  label: string,
  service: "proxy" | "lb",
  config: Record<string, string | number | boolean>,
): Promise<BenchTarget> {
  return startServe(group, label, service, autoFlags(config));
}

/** The flags of {@linkcode startAuto}. */
function autoFlags(config: Record<string, string | number | boolean>): string[] {
  return toFlags({ listen_addr: "127.0.0.1:0", ...COMMON_CONFIG, engine: "auto", ...config });
}

/**
 * Two of our services as {@linkcode startAuto} starts them, in one process (see
 * {@linkcode startServePair}): the sides of a cost pair.
 *
 * @param group Process tracking.
 * @param service Which service.
 * @param base Row name and options without the feature.
 * @param variant Row name and options with it.
 * @returns Both targets; stopping the first stops both.
 * @example
 * ```ts
 * const [plain, limited] = await startAutoPair(group, "proxy", ["proxy", { target_addr }],
 *   ["proxy+limits", { target_addr, max_conn_rate_per_client: 1000 }]);
 * ```
 */
export function startAutoPair(
  group: ProcessGroup,
  service: "proxy" | "lb",
  base: [string, Record<string, string | number | boolean>],
  variant: [string, Record<string, string | number | boolean>],
): Promise<[BenchTarget, BenchTarget]> {
  return startServePair(
    group,
    service,
    { label: base[0], flags: autoFlags(base[1]) },
    { label: variant[0], flags: autoFlags(variant[1]) },
  );
}

/**
 * Run the TLS termination rows in front of `backend` (plain TCP echo); a peer that is not
 * installed drops its row.
 *
 * @param group Process tracking.
 * @param backend The echo backend.
 * @param options Repetitions, seconds, client engine.
 * @returns One row per target, ours first.
 * @example
 * ```ts
 * const rows = await tlsTermination(group, backend, parseBenchArgs(["--quick"]));
 * ```
 */
export async function tlsTermination(
  group: ProcessGroup,
  backend: BenchTarget,
  options: BenchOptions,
): Promise<TlsRow[]> {
  const cert = { tls_cert: BENCH_CERT.cert, tls_key: BENCH_CERT.key };
  const targets: BenchTarget[] = [
    await startAuto(group, "proxy-tls", "proxy", { target_addr: backend.addr, ...cert }),
    await startAuto(group, "lb-tls", "lb", { backend: backend.addr, ...cert }),
  ];
  if (hasProgram("haproxy")) targets.push(await startHaproxy(group, backend.addr, BENCH_CERT));
  const nginx = hasProgram("nginx") ? startNginxStream(group, backend.addr, BENCH_CERT) : undefined;
  if (nginx) targets.push(await nginx);
  console.log(
    `TLS termination: ${
      targets.map((t) => `${t.name}${t.engine ? ` (engine: ${t.engine})` : ""}`).join(", ")
    } -> ${backend.name}`,
  );
  const tls = benchClientTls();
  const plan: PlannedTarget[] = targets.map((target) => ({ target, runs: () => true, tls }));
  const scenario = rowScenario("tls-1k-10", options);
  try {
    const samples = await runMatrix(plan, [scenario], options);
    return targets.map((t) => ({
      target: t.name,
      engine: t.engine ?? "-",
      cell: cellOf(samples.get(t.name)?.get(scenario.name) ?? [], scenario.duration_secs),
    }));
  } finally {
    for (const target of targets) await target.stop();
  }
}

/**
 * The TLS termination table: req/s, p50, p99 and the ratio to HAProxy per target.
 *
 * @param rows What {@linkcode tlsTermination} returned.
 * @returns Text.
 * @example
 * ```ts
 * console.log(renderTls(rows));
 * ```
 */
export function renderTls(rows: readonly TlsRow[]): string {
  const haproxy = rows.find((r) => r.target === "haproxy-tls")?.cell.rps;
  return [
    "TLS termination, 1 KiB ping-pong, 10 conns (client speaks TLS, plain echo backend):",
    markdownTable(
      ["Target", "engine", "req/s", "p50", "p99", "vs haproxy-tls"],
      rows.map((r) => [
        r.target,
        r.engine,
        `${Math.round(r.cell.rps)}${r.cell.errors > 0 ? ` (${r.cell.errors} err)` : ""}` +
        (r.cell.suspect ? ` ${r.cell.suspect} suspect` : ""),
        formatMicros(r.cell.p50_us),
        formatMicros(r.cell.p99_us),
        ratio(r.cell.rps, haproxy),
      ]),
    ),
  ].join("\n");
}
