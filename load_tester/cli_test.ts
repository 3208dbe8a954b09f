import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import {
  cliFixture,
  customServer,
  echoServer,
  runLoadTester,
  spawnLoadTester,
} from "./_testing.ts";

const NEEDS = requires("run", "read", "write", "env", "sys");

const cli = runLoadTester;

Deno.test("CLI runs the seed's load_test.toml unchanged and prints the matrix", NEEDS, async () => {
  const echo = echoServer();
  try {
    const run = await cli([
      "--config",
      "load_test.toml",
      "--target",
      echo.addr,
      "-d",
      "0.2",
      "--progress=false",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^load test: 7 scenarios from load_test\.toml against /);
    const table = run.stdout.slice(run.stdout.indexOf("Scenario"));
    assert.match(table, /^Scenario\s+Conns\s+MsgSize\s+Requests\s+RPS\s+p50\s+p95\s+p99\s+Err%/);
    for (
      const name of [
        "baseline",
        "small-packets",
        "large-packets",
        "medium-load",
        "heavy-load",
        "stress-test",
        "big-data",
      ]
    ) {
      assert.match(table, new RegExp(`\\n${name}\\s+\\d+`), name);
    }
    assert.match(table, /stress-test\s+500\s+1KiB/);
    assert.match(table, /big-data\s+10\s+64KiB/);
    assert.ok(!/stress-test.*\s100\.00%/.test(table));
  } finally {
    await echo.close();
  }
});

Deno.test("CLI: flags shaping a scenario without --config run one scenario", NEEDS, async () => {
  const echo = echoServer();
  try {
    const run = await cli(["--target", echo.addr, "-c", "2", "-d", "0.2", "--progress=false"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^load test: 1 scenario from flags against /);
    assert.equal(run.stdout.match(/^=== /gm)?.length, 1, run.stdout);
    assert.match(run.stdout, /=== default \(pingpong\) ===\n.*\n {2}Connections: {3}2\n/);
  } finally {
    await echo.close();
  }
});

Deno.test("CLI exits 1 with one line when nothing listens", NEEDS, async () => {
  const started = performance.now();
  const run = await cli(["--config", "/dev/null", "--target", "127.0.0.1:1", "-d", "5"]);
  assert.equal(run.code, 1);
  const [first, ...rest] = run.stderr.trimEnd().split("\n");
  assert.match(first!, /^load test: 1 scenario from flags against 127\.0\.0\.1:1 \(engine: \w+\)$/);
  assert.deepEqual(rest, ["cannot connect to 127.0.0.1:1: connection refused"]);
  assert.ok(performance.now() - started < 5000);
});

Deno.test("CLI exits 2 with one line on bad flags or config", NEEDS, async () => {
  const bad = await cli(["-c", "0"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  assert.match(bad.stderr, /flag --connections/);
  const path = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    await Deno.writeTextFile(path, `target_addr = "127.0.0.1:3000"\nconnectons = 5\n`);
    const unknown = await cli(["--config", path]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^Unknown key 'connectons' in .*\n$/);
    const extra = await cli(["--config", path, "frobnicate"]);
    assert.equal(extra.code, 2);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("CLI exits 1 when every request of a scenario failed", NEEDS, async () => {
  const server = customServer(() => {}, true);
  try {
    const run = await cli([
      "--config",
      "/dev/null",
      "--target",
      server.addr,
      "-d",
      "0.3",
      "-c",
      "2",
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /every request failed/);
    assert.match(run.stdout, /Errors:/);
  } finally {
    await server.close();
  }
});

Deno.test(
  "CLI writes JSON, compares with a baseline, fails on regression, merges",
  NEEDS,
  async () => {
    await using fixture = await cliFixture(["-d", "0.3", "-c", "2"]);
    const { base, dir } = fixture;
    const first = await cli([...base, "--format", "json", "--out", `${dir}/a.json`]);
    assert.equal(first.code, 0, first.stderr);
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/a.json`));
    assert.equal(doc.target, fixture.addr);
    assert.equal(doc.scenarios.length, 1);
    const s = doc.scenarios[0];
    assert.ok(s.requests > 0 && s.rps > 0 && s.latency_us.p99 > 0);
    // Write a changed copy of the result as `dir/name` and return that path.
    const variant = async (name: string, change: (copy: typeof doc) => void) => {
      const copy = structuredClone(doc);
      change(copy);
      await Deno.writeTextFile(`${dir}/${name}`, JSON.stringify(copy));
      return `${dir}/${name}`;
    };
    const gated = (baseline: string) =>
      cli([...base, "--baseline", baseline, "--fail-on-regression", "10"]);

    const regressed = await gated(
      await variant("fast.json", (better) => {
        better.scenarios[0].rps = s.rps * 10;
      }),
    );
    assert.equal(regressed.code, 1);
    assert.match(regressed.stderr, /regression: default: RPS fell/);
    assert.match(regressed.stdout, /ΔRPS\s+Δp99/);

    const fine = await gated(
      await variant("slow.json", (worse) => {
        worse.scenarios[0].rps = s.rps / 10;
        worse.scenarios[0].latency_us.p99 = s.latency_us.p99 * 1000;
      }),
    );
    assert.equal(fine.code, 0, fine.stderr);

    const twice = await cli(["merge", `${dir}/a.json`, `${dir}/a.json`, "--format", "json"]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /Cannot merge .*a\.json: it is the same run as .*a\.json/);
    await Deno.copyFile(`${dir}/a.json`, `${dir}/copy.json`);
    const copied = await cli(["merge", `${dir}/a.json`, `${dir}/copy.json`]);
    assert.equal(copied.code, 2);
    assert.match(copied.stderr, /copy\.json: it is the same run as .*a\.json/);
    const other = await variant("b.json", (copy) => {
      copy.started_at = "2026-01-01T00:00:00.000Z";
    });
    const merged = await cli(["merge", `${dir}/a.json`, other, "--format", "json"]);
    assert.equal(merged.code, 0, merged.stderr);
    const m = JSON.parse(merged.stdout).scenarios[0];
    assert.equal(m.requests, s.requests * 2);
    assert.ok(Math.abs(m.rps - s.rps * 2) < 0.5);
    assert.equal(m.latency_us.p99, s.latency_us.p99);

    const missing = await cli(["merge", `${dir}/nope.json`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot read result file .*nope\.json: not found/);
  },
);

Deno.test("CLI prints CSV and Markdown", NEEDS, async () => {
  const echo = echoServer();
  try {
    const base = ["--config", "/dev/null", "--target", echo.addr, "-d", "0.2", "-c", "2"];
    const csv = await cli([...base, "--format", "csv"]);
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^scenario,mode,connections,message_size/);
    assert.match(lines[1]!, /^default,pingpong,2,1024,/);
    const md = await cli([...base, "--format", "markdown", "--mode", "churn"]);
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /^\| Scenario \| Conns \|/);
    assert.match(md.stdout, /\n\| default \| 2 \| 1KiB \|/);
  } finally {
    await echo.close();
  }
});

Deno.test("CLI serves live metrics and prints a partial report on SIGINT", NEEDS, async () => {
  const echo = echoServer();
  try {
    await using run = spawnLoadTester(
      ["--config", "/dev/null", "--target", echo.addr, "-d", "20", "-c", "2"].concat(
        ["--metrics", "127.0.0.1:0"],
      ),
    );
    const url = (await run.waitForStderr(/metrics on (http:\/\/\S+)/))?.[1];
    assert.ok(url, run.stderr);
    let requests = 0;
    for (let i = 0; i < 50 && requests === 0; i++) {
      const text = await (await fetch(url)).text();
      requests = Number(
        /monkey_load_requests_total\{scenario="default"\} (\d+)/.exec(text)?.[1] ?? 0,
      );
      if (requests === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(requests > 0);
    run.child.kill("SIGINT");
    const { code, stdout, stderr } = await run.finish();
    assert.equal(code, 0, stderr);
    assert.match(stdout, /=== default \(pingpong\) ===/);
    const duration = Number(/Duration:\s+([\d.]+)s/.exec(stdout)?.[1]);
    assert.ok(duration > 0 && duration < 15, `${duration}`);
    assert.match(stderr, /stopped early/);
  } finally {
    await echo.close();
  }
});

Deno.test("CLI --find-capacity prints the table of steps", NEEDS, async () => {
  const echo = echoServer();
  try {
    const args = ["--config", "/dev/null", "--target", echo.addr, "-c", "2", "-d", "0.1"];
    const run = await cli([
      ...args,
      "--find-capacity",
      "--rate",
      "40",
      "--slo",
      "max<1us",
      "--progress=false",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Capacity search, SLO max<1us with zero errors:/);
    assert.match(run.stdout, /\n\s+1\s+40\s+.*failed: max /);
    assert.match(run.stdout, /\n\s+2\s+40\s+.*failed: max /);
    assert.match(run.stdout, /\n\s+3\s+20\s+/);
    assert.match(run.stdout, /Capacity: no tested rate held the SLO/);
    const json = await cli([
      ...args,
      "--find-capacity",
      "--rate",
      "8",
      "--slo",
      "max<1us",
      "--format",
      "json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.capacity[0].capacity_rps, 0);
    assert.deepEqual(
      doc.capacity[0].steps.map((s: { rate: number }) => s.rate),
      [8, 8, 4, 4, 2, 2, 1, 1],
    );
    assert.equal(doc.scenarios.length, 8);
  } finally {
    await echo.close();
  }
});
