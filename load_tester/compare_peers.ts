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
 * the two at equal counts (2 / (1/set + 1/get)); ours rotates the two commands.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { hasProgram, startNginx, startRedis } from "./_real_servers.ts";

interface Row {
  label: string;
  peer: string;
  ours: string[];
  peerRun: (secs: number, oursRps: number) => Promise<number>;
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

async function ours(target: string, args: string[], secs: number, engine: string): Promise<number> {
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
  return result.rps;
}

async function redisBenchmark(
  addr: string,
  tests: string,
  conns: number,
  pipeline: number,
  requests: number,
): Promise<number> {
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
  const rates = [...text.matchAll(/^"([A-Z_]+)","([\d.]+)"/gm)].map((m) => Number(m[2]));
  if (rates.length === 0) throw new Error(`no rate in redis-benchmark output: ${text}`);
  return rates.length / rates.reduce((sum, r) => sum + 1 / r, 0);
}

async function wrk(addr: string, conns: number, secs: number): Promise<number> {
  const text = await output("wrk", [
    "-t1",
    `-c${conns}`,
    `-d${secs}s`,
    `http://${addr}/index.html`,
  ]);
  if (/Non-2xx or 3xx responses/.test(text)) throw new Error(`wrk saw errors: ${text}`);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!m) throw new Error(`no rate in wrk output: ${text}`);
  return Number(m[1]);
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
  const results = rows.map(() => ({ ours: [] as number[], peer: [] as number[] }));
  for (let rep = 0; rep < reps; rep++) {
    for (const [i, row] of rows.entries()) {
      const target = row.peer === "wrk -t1" ? nginx!.addr : redis!.addr;
      const a = await ours(target, row.ours, secs, engine);
      const b = await row.peerRun(secs, a);
      results[i]!.ours.push(a);
      results[i]!.peer.push(b);
      console.error(`rep ${rep + 1}: ${row.label}: ours ${fmt(a)}, ${row.peer} ${fmt(b)}`);
    }
  }
  console.log(`| target | peer | ours req/s | peer req/s | ours / peer |`);
  console.log(`| --- | --- | ---: | ---: | ---: |`);
  for (const [i, row] of rows.entries()) {
    const a = median(results[i]!.ours);
    const b = median(results[i]!.peer);
    console.log(`| ${row.label} | ${row.peer} | ${fmt(a)} | ${fmt(b)} | ${(a / b).toFixed(2)}x |`);
  }
}
