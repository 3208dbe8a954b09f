import assert from "node:assert/strict";
import { median, ratio, renderBench } from "./table.ts";

Deno.test("median() takes the middle value, or the mean of the middle two", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(ratio(90, 100), "0.90x");
  assert.equal(ratio(1, 0), "-");
});

Deno.test("renderBench() prints req/s, ratios per engine, echo rows, client check, probe and memory", () => {
  const cell = (rps: number, p99: number) => ({
    rps,
    p50_us: p99 / 2,
    p99_us: p99,
    max_us: p99 * 2,
    errors: 0,
  });
  const text = renderBench({
    machine: {
      cpu: "Test CPU",
      cpus: 2,
      os: "linux x86_64",
      kernel: "6.1",
      deno: "2.9.6",
      date: "2026-11-27",
    },
    engines: { auto: "epoll", available: ["epoll", "deno"] },
    rows: [{
      scenario: "baseline",
      connections: 10,
      message_size: 1024,
      cells: {
        direct: cell(100_000, 200),
        "proxy-epoll": cell(55_000, 300),
        "proxy-deno": cell(45_000, 500),
        haproxy: cell(50_000, 400),
        "lb-epoll": cell(53_900, 520),
        "echo-epoll": cell(97_000, 210),
      },
    }],
    clients: [
      { client: "pingpong.c", rps: 100_000, p50_us: 90, p99_us: 200 },
      { client: "load tester (epoll)", engine: "epoll", rps: 96_000, p50_us: 95, p99_us: 210 },
    ],
    probes: [{
      engine: "epoll",
      load_rps: 60_000,
      count: 40,
      failures: 0,
      p50_ms: 1.5,
      p99_ms: 12.25,
      max_ms: 14,
    }],
    memory: [{ target: "proxy-epoll", bytes: 2.5 * 1024 }],
    reps: 3,
    secs: 3,
  });
  assert.match(text, /Test CPU, 2 cores/);
  assert.match(text, /\| baseline \| 10 +\| 1 KiB \| 100000 \(200µs\)/);
  assert.match(text, /proxy-epoll\/haproxy/);
  assert.match(text, /1\.10x \(0\.75x\)/); // proxy-epoll vs haproxy: rps ratio and p99 ratio
  assert.match(text, /0\.90x \(1\.25x\)/); // proxy-deno vs haproxy
  assert.match(text, /1\.08x \(1\.30x\)/); // lb-epoll vs haproxy
  assert.match(text, /Our echo server \(echo-epoll\) vs direct: baseline 0\.97x/);
  assert.match(text, /\| load tester \(epoll\) +\| 96000 +\| 95µs +\| 210µs +\| 0\.96x/);
  assert.match(text, /\| epoll +\| 40 +\| 0 +\| 1\.5 +\| 12\.3 +\| 14\.0 +\| 60000/);
  assert.match(text, /\| proxy-epoll +\| 2\.5 +\|/);
});
