/**
 * Benchmark: this load tester (one worker) against `../shared/tools/pingpong.c`, side by side
 * in one run, on the same fast echo server (`../shared/tools/echo_srv.c`). Both C tools are
 * measuring instruments outside the project; they are compiled into a temp dir with `cc`.
 *
 * Run from the repo root:
 * `deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys load_tester/compare_c.ts [ROUNDS] [SECS] [CONNS] [SIZE]`
 *
 * Prints every round and the medians (the machine may be shared: rounds alternate the two
 * clients so drifting load hits both).
 *
 * @module
 */

const TOOLS = new URL("../../shared/tools/", import.meta.url).pathname;
const MAIN = new URL("./main.ts", import.meta.url).pathname;
const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-sys", "--allow-env"];
const decoder = new TextDecoder();

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
  await sh("cc", ["-O2", "-o", `${dir}/pingpong`, `${TOOLS}pingpong.c`]);
  await sh("cc", ["-O2", "-o", `${dir}/echo_srv`, `${TOOLS}echo_srv.c`]);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const server = new Deno.Command(`${dir}/echo_srv`, {
    args: [String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForPort(port);
    const c: number[] = [];
    const ours: { rps: number; p50: number; p99: number }[] = [];
    const cLat: { p50: number; p99: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const line = await sh(`${dir}/pingpong`, [
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
      console.log(
        `round ${round}: pingpong.c ${rps} req/s | load tester ${Math.round(s.rps)} req/s (${
          (s.rps / rps).toFixed(2)
        }x)`,
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
      `  ratio         ${(mo / mc).toFixed(2)}x (median of ratios ${
        median(ours.map((o, i) => o.rps / c[i]!)).toFixed(2)
      }x)`,
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
