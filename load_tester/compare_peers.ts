/**
 * Ours against the peers on the same target, run by hand (not part of the tests):
 *
 * ```sh
 * deno run -A load_tester/compare_peers.ts [--reps 3] [--secs 3] [--engine epoll] [--only TEXT]
 * ```
 *
 * redis-server with `PING` and a `SET`/`GET` mix at 10 and 50 connections, without pipelining
 * and with 16 in flight: ours against `redis-benchmark` (same connections and `-P`); nginx
 * serving a small file over keep-alive at 10 and 100 connections: ours against `wrk -t1`.
 * Rows are interleaved (ours, peer, next row, ...) and repeated; the table shows medians.
 * redis-benchmark runs `SET` and `GET` one after the other, so its mix figure is the rate of
 * the two at equal counts (2 / (1/set + 1/get)) and its latencies the mean of the two tests'
 * percentiles; ours rotates the two commands. Latencies: p50 and p99 per row (medians over the
 * repetitions), ours from its JSON report, redis-benchmark's from `--csv`, wrk's from
 * `--latency`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { hasProgram, startNginx, startRedis } from "./_real_servers.ts";

/** One run's rate and latency (ms). */
interface Run {
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

interface Row {
  label: string;
  peer: string;
  ours: string[];
  peerRun: (secs: number, oursRps: number) => Promise<Run>;
}

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

async function output(program: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(program, { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .output();
  const text = decoder.decode(out.stdout);
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")} failed: ${decoder.decode(out.stderr)}${text}`);
  }
  return text;
}

async function ours(target: string, args: string[], secs: number, engine: string): Promise<Run> {
  const text = await output(Deno.execPath(), [
    "run",
    "-A",
    "load_tester/main.ts",
    "--config",
    "/dev/null",
    "--target",
    target,
    "-d",
    `${secs}s`,
    "--engine",
    engine,
    "--format",
    "json",
    "--progress=false",
    ...args,
  ]);
  const result = JSON.parse(text).scenarios[0];
  if (result.errors.total > 0) {
    throw new Error(`ours ${args.join(" ")}: ${result.errors.total} errors`);
  }
  return {
    rps: result.rps,
    p50_ms: result.latency_us.p50 / 1000,
    p99_ms: result.latency_us.p99 / 1000,
  };
}

async function redisBenchmark(
  addr: string,
  tests: string,
  conns: number,
  pipeline: number,
  requests: number,
): Promise<Run> {
  const [host, port] = addr.split(":") as [string, string];
  const text = await output("redis-benchmark", [
    "-h",
    host,
    "-p",
    port,
    "-c",
    String(conns),
    "-P",
    String(pipeline),
    "-n",
    String(requests),
    "-r",
    "100000",
    "-d",
    "64",
    "-t",
    tests,
    "--csv",
  ]);
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
  // "p99_latency_ms","max_latency_ms"
  const rows = [...text.matchAll(/^"([A-Z_]+)",(.*)$/gm)].map((m) =>
    m[2]!.split(",").map((v) => Number(v.replaceAll('"', "")))
  );
  if (rows.length === 0) throw new Error(`no rate in redis-benchmark output: ${text}`);
  const mean = (column: number) => rows.reduce((sum, t) => sum + t[column]!, 0) / rows.length;
  return {
    rps: rows.length / rows.reduce((sum, t) => sum + 1 / t[0]!, 0),
    p50_ms: mean(3),
    p99_ms: mean(5),
  };
}

async function wrk(addr: string, conns: number, secs: number): Promise<Run> {
  const text = await output("wrk", [
    "-t1",
    `-c${conns}`,
    `-d${secs}s`,
    "--latency",
    `http://${addr}/index.html`,
  ]);
  if (/Non-2xx or 3xx responses/.test(text)) throw new Error(`wrk saw errors: ${text}`);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!m) throw new Error(`no rate in wrk output: ${text}`);
  // Its latency distribution: "     50%   92.00us", "     99%    2.52ms".
  const percentile = (p: number) => {
    const line = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, "m").exec(text);
    if (!line) throw new Error(`no ${p}% latency in wrk output: ${text}`);
    return Number(line[1]) * { us: 0.001, ms: 1, s: 1000 }[line[2] as "us" | "ms" | "s"];
  };
  return { rps: Number(m[1]), p50_ms: percentile(50), p99_ms: percentile(99) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reps: { type: "string", default: "3" },
      secs: { type: "string", default: "3" },
      engine: { type: "string", default: "epoll" },
      only: { type: "string", default: "" },
    },
  });
  const reps = Number(values.reps);
  const secs = Number(values.secs);
  const engine = values.engine;
  await using redis = hasProgram("redis-server") && hasProgram("redis-benchmark")
    ? await startRedis()
    : undefined;
  await using nginx = hasProgram("nginx") && hasProgram("wrk") ? await startNginx() : undefined;
  const rows: Row[] = [];
  if (redis) {
    const mixes = [
      { name: "PING", args: ["--command", "PING"], tests: "ping_mbulk" },
      {
        name: "SET/GET",
        args: [
          "--command",
          "SET key:{{rand:100000}} {{bytes:64}}",
          "--command",
          "GET key:{{rand:100000}}",
        ],
        tests: "set,get",
      },
    ];
    for (const mix of mixes) {
      for (const conns of [10, 50]) {
        for (const pipeline of [1, 16]) {
          rows.push({
            label: `redis ${mix.name}, ${conns} conns, pipeline ${pipeline}`,
            peer: "redis-benchmark",
            ours: [
              "--protocol",
              "redis",
              ...mix.args,
              "-c",
              String(conns),
              "--pipeline",
              String(pipeline),
            ],
            peerRun: (s, rps) =>
              redisBenchmark(
                redis.addr,
                mix.tests,
                conns,
                pipeline,
                Math.max(50_000, Math.round(rps * s)),
              ),
          });
        }
      }
    }
  } else console.error("redis-server or redis-benchmark missing: redis rows skipped");
  if (nginx) {
    for (const conns of [10, 100]) {
      rows.push({
        label: `nginx small file, ${conns} conns`,
        peer: "wrk -t1",
        ours: ["--protocol", "http", "--request", "GET /index.html", "-c", String(conns)],
        peerRun: (s) => wrk(nginx.addr, conns, s),
      });
    }
  } else console.error("nginx or wrk missing: HTTP rows skipped");
  if (values.only) {
    rows.splice(
      0,
      rows.length,
      ...rows.filter((r) => r.label.includes(values.only!)),
    );
  }
  const results = rows.map(() => ({ ours: [] as Run[], peer: [] as Run[] }));
  for (let rep = 0; rep < reps; rep++) {
    for (const [i, row] of rows.entries()) {
      const target = row.peer === "wrk -t1" ? nginx!.addr : redis!.addr;
      const a = await ours(target, row.ours, secs, engine);
      const b = await row.peerRun(secs, a.rps);
      results[i]!.ours.push(a);
      results[i]!.peer.push(b);
      console.error(
        `rep ${rep + 1}: ${row.label}: ours ${fmt(a.rps)}, ${row.peer} ${fmt(b.rps)}`,
      );
    }
  }
  console.log(
    "| target | peer | ours req/s | peer req/s | ours / peer | ours p50 / p99 | peer p50 / p99 |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
  const ms = (n: number) => n < 1 ? `${(n * 1000).toFixed(0)}µs` : `${n.toFixed(2)}ms`;
  for (const [i, row] of rows.entries()) {
    const cell = (runs: Run[]) => {
      const rps = median(runs.map((r) => r.rps));
      return {
        rps,
        latency: `${ms(median(runs.map((r) => r.p50_ms)))} / ${
          ms(median(runs.map((r) => r.p99_ms)))
        }`,
      };
    };
    const a = cell(results[i]!.ours);
    const b = cell(results[i]!.peer);
    console.log(
      `| ${row.label} | ${row.peer} | ${fmt(a.rps)} | ${fmt(b.rps)} | ${
        (a.rps / b.rps).toFixed(2)
      }x | ${a.latency} | ${b.latency} |`,
    );
  }
}
