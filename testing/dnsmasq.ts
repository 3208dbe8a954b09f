/**
 * A real DNS server for discovery tests: dnsmasq on a loopback port, serving SRV records and
 * host records from files the test rewrites. Never the system service: started with
 * `--no-daemon`, no upstream, no /etc/hosts, bound to 127.0.0.1 only.
 *
 * dnsmasq re-reads `--addn-hosts` files on SIGHUP but not `srv-host` lines, so
 * {@linkcode Dnsmasq.reload} sends SIGHUP when only hosts changed and restarts dnsmasq on the
 * same port when the SRV records changed. Serve names under `.test`: dnsmasq answers NXDOMAIN for
 * the ones it does not know.
 *
 * @module
 */

import { type LineProcess, spawnLines } from "./process.ts";
import { waitFor } from "./wait.ts";

/** One SRV record. */
export interface SrvRecord {
  /** `_service._tcp.domain`. */
  name: string;
  /** Target host name (give it a host record). */
  target: string;
  /** Port. */
  port: number;
  /** Priority (lower is preferred). @default 0 */
  priority?: number;
  /** Weight. @default 1 */
  weight?: number;
}

/** The records served. */
export interface DnsRecords {
  /** SRV records. @default [] */
  srv?: SrvRecord[];
  /** Host name to addresses (A or AAAA). @default {} */
  hosts?: Record<string, string[]>;
}

/** A running dnsmasq. */
export interface Dnsmasq extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  readonly addr: string;
  /** The port. */
  readonly port: number;
  /** Serve these records from now on (SIGHUP, or a restart when SRV records changed). */
  reload(records: DnsRecords): Promise<void>;
  /** Stop the server (queries time out until {@linkcode Dnsmasq.start}). */
  stop(): Promise<void>;
  /** Start it again on the same port. */
  start(): Promise<void>;
}

const DNSMASQ_PATHS = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"];

/**
 * Where dnsmasq is installed, or undefined.
 *
 * @returns The path of the binary.
 * @example
 * ```ts
 * Deno.test("discovery", { ignore: dnsmasqPath() === undefined }, async () => {});
 * ```
 */
export function dnsmasqPath(): string | undefined {
  for (const path of DNSMASQ_PATHS) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * Start dnsmasq on a free loopback port with the given records.
 *
 * @param records SRV and host records.
 * @returns The running server.
 * @throws {Error} When dnsmasq is not installed or does not start.
 * @example
 * ```ts
 * await using dns = await startDnsmasq({ hosts: { "echo.test": ["127.0.0.2"] } });
 * ```
 */
export async function startDnsmasq(records: DnsRecords): Promise<Dnsmasq> {
  const bin = dnsmasqPath();
  if (bin === undefined) throw new Error("dnsmasq is not installed (apt-get install dnsmasq-base)");
  const dir = await Deno.makeTempDir({ prefix: "monkey-dnsmasq-" });
  const conf = `${dir}/dnsmasq.conf`;
  const hosts = `${dir}/hosts`;
  const port = freePort();
  let current = records;
  let proc: LineProcess | undefined;
  const write = async (r: DnsRecords) => {
    const srv = (r.srv ?? []).map((s) =>
      `srv-host=${s.name},${s.target},${s.port},${s.priority ?? 0},${s.weight ?? 1}`
    );
    await Deno.writeTextFile(conf, srv.join("\n") + "\n");
    const lines = Object.entries(r.hosts ?? {}).flatMap(([name, addrs]) =>
      addrs.map((a) => `${a} ${name}`)
    );
    await Deno.writeTextFile(hosts, lines.join("\n") + "\n");
  };
  const start = async () => {
    proc = spawnLines(bin, [
      "--no-daemon",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--no-negcache",
      // Names under .test that are not served get NXDOMAIN (not REFUSED: there is no upstream).
      "--local=/test/",
      "--local-ttl=1",
      "--user=root",
      "--pid-file=",
      `--conf-file=${conf}`,
      `--addn-hosts=${hosts}`,
    ]);
    await proc.waitForLine(/started, version/, 5000);
  };
  await write(records);
  await start();
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (p) await p.stop("SIGTERM");
  };
  return {
    addr: `127.0.0.1:${port}`,
    port,
    async reload(next) {
      const srvChanged = JSON.stringify(next.srv ?? []) !== JSON.stringify(current.srv ?? []);
      current = next;
      await write(next);
      if (proc === undefined) return;
      if (srvChanged) {
        await stop();
        await start();
      } else {
        const p = proc;
        const reads = () => p.lines.filter((line) => line.includes(`read ${hosts}`)).length;
        const before = reads();
        p.child.kill("SIGHUP");
        await waitFor(() => reads() > before, "dnsmasq to re-read its hosts file");
      }
    },
    stop,
    start,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A port free for both UDP and TCP on 127.0.0.1 (a small race remains). */
function freePort(): number {
  for (;;) {
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (tcp.addr as Deno.NetAddr).port;
    try {
      const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
      udp.close();
      return port;
    } catch {
      // Taken for UDP: try another.
    } finally {
      tcp.close();
    }
  }
}
