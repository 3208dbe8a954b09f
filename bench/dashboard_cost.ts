/**
 * What open dashboards cost the proxy: 1 KiB ping-pong through the proxy to the echo server,
 * 100 connections, alternating runs without and with 10 SSE subscribers on `/events`, same
 * processes, same client. Prints each run and the median ratio.
 *
 * Run: `deno run -A bench/dashboard_cost.ts [--rounds 3] [--secs 8] [--subscribers 10]`
 *
 * @module
 */

import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    secs: { type: "string", default: "8" },
    subscribers: { type: "string", default: "10" },
    connections: { type: "string", default: "100" },
  },
});
const rounds = Number(values.rounds);
const secs = Number(values.secs);
const subscribers = Number(values.subscribers);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Cannot reach ${url} after 15 s`);
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat (Linux). */
async function cpuSecs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSec = 100; // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSec;
}

async function load(target: string): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "load_tester/main.ts", "--config", "/dev/null", "--target", target]
      .concat(["-c", values.connections!, "-s", "1024", "-d", String(secs), "--warmup", "1"])
      .concat(["--format", "json", "--progress=false"]),
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).scenarios[0].rps;
}

function openSubscribers(url: string, n: number): { updates: () => number; close: () => void } {
  const controller = new AbortController();
  let updates = 0;
  for (let i = 0; i < n; i++) {
    fetch(url, { signal: controller.signal }).then(async (res) => {
      for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
        updates += chunk.split("\ndata: ").length - 1 + (chunk.startsWith("data: ") ? 1 : 0);
      }
    }).catch(() => {});
  }
  return { updates: () => updates, close: () => controller.abort() };
}

const echoPort = freePort();
const proxyPort = freePort();
const metricsPort = freePort();
const echo = spawn([
  "echo/main.ts",
  "--config",
  "/dev/null",
  "--listen",
  `127.0.0.1:${echoPort}`,
  "--metrics",
  "off",
]);
const proxy = spawn([
  "proxy/main.ts",
  "--config",
  "/dev/null",
  "--listen",
  `127.0.0.1:${proxyPort}`,
  "--target",
  `127.0.0.1:${echoPort}`,
  "--metrics",
  `127.0.0.1:${metricsPort}`,
  "--metrics-log-interval-secs",
  "0",
]);
try {
  await waitHttp(`http://127.0.0.1:${metricsPort}/health`);
  const without: number[] = [];
  const withSse: number[] = [];
  const cpuWithout: number[] = [];
  const cpuWith: number[] = [];
  /** req/s and the proxy's CPU ms per 1000 requests of one load run. */
  const measured = async (): Promise<[number, number]> => {
    const cpu0 = await cpuSecs(proxy.pid);
    const started = performance.now();
    const rps = await load(`127.0.0.1:${proxyPort}`);
    const cpu = await cpuSecs(proxy.pid) - cpu0;
    // Warmup requests count too: approximate them at the measured rate.
    const requests = rps * (performance.now() - started) / 1000;
    return [rps, (cpu * 1000) / (requests / 1000)];
  };
  for (let round = 0; round < rounds; round++) {
    const [a, ca] = await measured();
    without.push(a);
    cpuWithout.push(ca);
    const subs = openSubscribers(`http://127.0.0.1:${metricsPort}/events`, subscribers);
    const [b, cb] = await measured();
    const got = subs.updates();
    subs.close();
    withSse.push(b);
    cpuWith.push(cb);
    console.log(
      `round ${round + 1}: without ${a.toFixed(0)} req/s (${ca.toFixed(1)} CPU ms/1k req), ` +
        `with ${subscribers} SSE ${b.toFixed(0)} req/s (${cb.toFixed(1)} CPU ms/1k req, ${got} ` +
        `updates received), ratio ${(b / a).toFixed(3)}`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  // Per-round ratios cancel slow drifts of a shared machine; their median resists outliers.
  const ratio = median(withSse.map((b, i) => b / without[i]!));
  console.log(
    `median: without ${median(without).toFixed(0)}, with ${median(withSse).toFixed(0)} req/s; ` +
      `median per-round ratio ${ratio.toFixed(3)} (${((1 - ratio) * 100).toFixed(1)}% cost)`,
  );
  console.log(
    `proxy CPU per 1000 requests, median: without ${median(cpuWithout).toFixed(2)} ms, with ` +
      `${median(cpuWith).toFixed(2)} ms (${
        ((median(cpuWith) / median(cpuWithout) - 1) * 100).toFixed(1)
      }%)`,
  );
} finally {
  proxy.kill();
  echo.kill();
  await Promise.allSettled([proxy.status, echo.status]);
}
