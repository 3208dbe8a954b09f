/**
 * Benchmark: this load tester (one worker) against `../shared/tools/pingpong.c`, side by side
 * in one run, on the same fast echo server (`../shared/tools/echo_srv.c`). Both C tools are
 * measuring instruments outside the project; they are compiled into a temp dir with `cc`.
 *
 * Run from the repo root:
 * `deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys load_tester/compare_c.ts [ROUNDS] [SECS] [CONNS] [SIZE]`
 *
 * Prints every round and the medians (the machine may be shared: rounds alternate the
 * clients so drifting load hits all of them). The binaries get names of their own so a
 * `pkill echo_srv` elsewhere on a shared machine does not stop this run.
 *
 * @module
 */

const TOOLS = new URL("../../shared/tools/", import.meta.url).pathname;
const MAIN = new URL("./main.ts", import.meta.url).pathname;
const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-sys", "--allow-env"];
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
console.log(Math.round(done / ((performance.now() - start) / 1000)));
`;

async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Compile the C tools, start echo_srv, alternate both clients, print medians. */
async function main(): Promise<void> {
  const [rounds = 5, secs = 3, conns = 10, size = 1024] = Deno.args.map(Number);
  const dir = await Deno.makeTempDir();
  await sh("cc", ["-O2", "-o", `${dir}/yard_client`, `${TOOLS}pingpong.c`]);
  await sh("cc", ["-O2", "-o", `${dir}/yard_echo`, `${TOOLS}echo_srv.c`]);
  await Deno.writeTextFile(`${dir}/bare.ts`, BARE_CLIENT);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const server = new Deno.Command(`${dir}/yard_echo`, {
    args: [String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForPort(port);
    const c: number[] = [];
    const ours: { rps: number; p50: number; p99: number }[] = [];
    const cLat: { p50: number; p99: number }[] = [];
    const bare: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const line = await sh(`${dir}/yard_client`, [
        String(port),
        String(conns),
        String(size),
        String(secs),
      ]);
      const rps = Number(/rps=(\d+)/.exec(line)?.[1]);
      cLat.push({
        p50: Number(/p50_us=(\d+)/.exec(line)?.[1]),
        p99: Number(/p99_us=(\d+)/.exec(line)?.[1]),
      });
      c.push(rps);
      const json = await sh(Deno.execPath(), [
        "run",
        ...PERMS,
        MAIN,
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
      ]);
      const s = JSON.parse(json).scenarios[0];
      ours.push({ rps: s.rps, p50: s.latency_us.p50, p99: s.latency_us.p99 });
      const floor = Number(
        await sh(Deno.execPath(), [
          "run",
          "--allow-net",
          `${dir}/bare.ts`,
          String(port),
          String(conns),
          String(size),
          String(secs),
        ]),
      );
      bare.push(floor);
      console.log(
        `round ${round}: pingpong.c ${rps} req/s | load tester ${Math.round(s.rps)} req/s (${
          (s.rps / rps).toFixed(2)
        }x) | bare Deno loop ${floor} req/s (${(floor / rps).toFixed(2)}x)`,
      );
    }
    const mc = median(c);
    const mo = median(ours.map((o) => o.rps));
    console.log(
      `\nmedian of ${rounds} rounds, ${conns} conns, ${size} B, ${secs}s each, target echo_srv.c:`,
    );
    console.log(
      `  pingpong.c    ${Math.round(mc)} req/s  p50 ${median(cLat.map((x) => x.p50))}µs  p99 ${
        median(cLat.map((x) => x.p99))
      }µs`,
    );
    console.log(
      `  load tester   ${Math.round(mo)} req/s  p50 ${median(ours.map((x) => x.p50))}µs  p99 ${
        median(ours.map((x) => x.p99))
      }µs`,
    );
    console.log(
      `  bare Deno     ${Math.round(median(bare))} req/s  (no timing, histogram or verification)`,
    );
    console.log(
      `  ratio         ${(mo / mc).toFixed(2)}x (median of ratios ${
        median(ours.map((o, i) => o.rps / c[i]!)).toFixed(2)
      }x); bare Deno loop ${(median(bare) / mc).toFixed(2)}x`,
    );
  } finally {
    try {
      server.kill();
    } catch {
      // already exited
    }
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`echo_srv did not listen on ${port}`);
}

if (import.meta.main) await main();
