/**
 * How fast is the load tester itself? Our load tester (one worker, run through
 * `bench/serve.ts load-test`) against the C ping-pong client (`bench/c/pingpong.c`), side by
 * side in one run, on the same C echo server (`bench/c/echo_srv.c`), plus a bare Deno
 * write/read loop as the floor. The C yardsticks are built with `cc` (see `yardsticks.ts`).
 *
 * Run from the repo root:
 * `deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys bench/compare_c.ts [ROUNDS] [SECS] [CONNS] [SIZE] [ENGINE]`
 * (ENGINE: the load tester's `--engine`, `auto` by default, which is epoll on Linux).
 *
 * Prints every round and the medians. The machine may be shared: rounds alternate the
 * clients so drifting load hits all of them, and each client's CPU time per request (user +
 * system, from `/usr/bin/time`) is printed too, which load from other processes disturbs far
 * less than the rate. The binaries get names of their own so a `pkill echo_srv` elsewhere on
 * a shared machine does not stop this run.
 *
 * @module
 */

import { ProcessGroup } from "./process_group.ts";
import { buildYardsticks, parsePingpong, startEchoSrv } from "./yardsticks.ts";

const SERVE = new URL("./serve.ts", import.meta.url).pathname;
const PERMS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
  "--allow-env",
  "--allow-ffi",
];
const TIME = "/usr/bin/time";
const decoder = new TextDecoder();

/**
 * The floor: a bare Deno write/read loop with no timing, histogram or verification. What
 * the load tester costs beyond it is its own overhead; what this costs beyond C is Deno's.
 */
const BARE_CLIENT = `
const [port, conns, size, secs] = Deno.args.map(Number);
let done = 0, stop = false;
async function one() {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  c.setNoDelay(true);
  const msg = new Uint8Array(size), buf = new Uint8Array(size);
  while (!stop) {
    let w = 0; while (w < size) w += await c.write(w === 0 ? msg : msg.subarray(w));
    let r = 0; while (r < size) { const n = await c.read(r === 0 ? buf : buf.subarray(r)); if (n === null) throw new Error("eof"); r += n; }
    done++;
  }
  c.close();
}
const start = performance.now();
const all = Array.from({ length: conns }, one);
setTimeout(() => stop = true, secs * 1000);
await Promise.all(all);
console.log("rps=" + Math.round(done / ((performance.now() - start) / 1000)));
`;

/** One client run: rate, latency when the client reports it, CPU seconds. */
interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Client CPU (user + system) per request, µs; NaN without /usr/bin/time. */
  cpuUs: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Run a command, under /usr/bin/time when there is one; returns stdout and CPU seconds. */
async function run(
  cmd: string,
  args: string[],
  timed: boolean,
): Promise<{ stdout: string; cpu: number }> {
  const full = timed ? [TIME, "-f", "cpu %U %S", cmd, ...args] : [cmd, ...args];
  const out = await new Deno.Command(full[0]!, {
    args: full.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${stderr}`);
  const match = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  return {
    stdout: decoder.decode(out.stdout),
    cpu: match ? Number(match[1]) + Number(match[2]) : NaN,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summary(name: string, samples: Sample[], reference: number): string {
  const rps = median(samples.map((s) => s.rps));
  const cpu = median(samples.map((s) => s.cpuUs));
  const latency = Number.isNaN(samples[0]!.p50)
    ? "".padEnd(24)
    : `p50 ${Math.round(median(samples.map((s) => s.p50)))}µs  p99 ${
      Math.round(median(samples.map((s) => s.p99)))
    }µs`
      .padEnd(24);
  return `  ${name.padEnd(14)} ${String(Math.round(rps)).padStart(7)} req/s  ${
    (rps / reference).toFixed(2)
  }x  ${latency}  ${Number.isNaN(cpu) ? "" : `CPU ${cpu.toFixed(1)} µs/request`}`;
}

/** Compile the C tools, start echo_srv, alternate the clients, print medians. */
async function main(): Promise<void> {
  const [rounds = 5, secs = 3, conns = 10, size = 1024] = Deno.args.slice(0, 4).map(Number);
  const engine = Deno.args[4] ?? "auto";
  const timed = await exists(TIME);
  const built = await buildYardsticks();
  if ("skipped" in built) {
    console.log(built.skipped);
    return;
  }
  const group = new ProcessGroup();
  const dir = group.tempDir();
  // Copies under names of their own: a `pkill echo_srv` elsewhere does not stop this run.
  const client = `${dir}/yard_client`;
  await Deno.copyFile(built.pingpong, client);
  await Deno.copyFile(built.echoSrv, `${dir}/yard_echo`);
  await Deno.writeTextFile(`${dir}/bare.ts`, BARE_CLIENT);
  const server = await startEchoSrv(group, `${dir}/yard_echo`);
  const port = server.addr.slice(server.addr.lastIndexOf(":") + 1);
  const target = [port, String(conns), String(size), String(secs)];
  const c: Sample[] = [];
  const ours: Sample[] = [];
  const bare: Sample[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const cOut = await run(client, target, timed);
      const measured = parsePingpong(cOut.stdout);
      const rps = measured.rps;
      c.push({
        rps,
        p50: measured.p50_us,
        p99: measured.p99_us,
        cpuUs: (cOut.cpu * 1e6) / (rps * secs),
      });
      const oOut = await run(Deno.execPath(), [
        "run",
        ...PERMS,
        SERVE,
        "load-test",
        "--config",
        "/dev/null",
        "--target",
        `127.0.0.1:${port}`,
        "-c",
        String(conns),
        "-s",
        String(size),
        "-d",
        String(secs),
        "--format",
        "json",
        "--progress=false",
        `--engine=${engine}`,
      ], timed);
      const s = JSON.parse(oOut.stdout).scenarios[0];
      ours.push({
        rps: s.rps,
        p50: s.latency_us.p50,
        p99: s.latency_us.p99,
        cpuUs: (oOut.cpu * 1e6) / s.requests,
      });
      const bOut = await run(
        Deno.execPath(),
        ["run", "--allow-net", `${dir}/bare.ts`, ...target],
        timed,
      );
      const floor = Number(/rps=(\d+)/.exec(bOut.stdout)?.[1]);
      bare.push({ rps: floor, p50: NaN, p99: NaN, cpuUs: (bOut.cpu * 1e6) / (floor * secs) });
      console.log(
        `round ${round}: pingpong.c ${rps} | load tester ${Math.round(s.rps)} (${
          (s.rps / rps).toFixed(2)
        }x) | bare Deno loop ${floor} (${(floor / rps).toFixed(2)}x) req/s`,
      );
    }
  } finally {
    await group.stopAll();
  }
  const reference = median(c.map((x) => x.rps));
  console.log(
    `\nmedian of ${rounds} rounds, ${conns} conns, ${size} B, ${secs}s each, target echo_srv.c, ` +
      `load tester --engine ${engine}:`,
  );
  console.log(summary("pingpong.c", c, reference));
  console.log(summary("load tester", ours, reference));
  console.log(summary("bare Deno loop", bare, reference));
  console.log(
    `  median of per-round ratios: load tester ${
      median(ours.map((o, i) => o.rps / c[i]!.rps)).toFixed(2)
    }x, bare Deno loop ${median(bare.map((b, i) => b.rps / c[i]!.rps)).toFixed(2)}x`,
  );
  console.log(
    "  (CPU includes process start-up, the same for both Deno clients; the bare loop has no\n" +
      "   timing, histogram or verification)",
  );
}

if (import.meta.main) await main();
