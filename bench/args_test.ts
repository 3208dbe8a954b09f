import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { requires } from "@monkey/testing";
import { BENCH_SECTIONS, benchScenarios, parseBenchArgs } from "./args.ts";

const SEED = `
[[scenarios]]
name = "baseline"
connections = 10
message_size = 1024

[[scenarios]]
name = "small-packets"
connections = 10
message_size = 64

[[scenarios]]
name = "big-data"
connections = 10
message_size = 65536
`;

Deno.test("parseBenchArgs() defaults to 3 runs of 3 s, and --quick to 1 run of 1 s", () => {
  const full = parseBenchArgs([]);
  assert.equal(full.quick, false);
  assert.equal(full.reps, 3);
  assert.equal(full.secs, 3);
  assert.equal(full.idleConnections, 2000);
  assert.equal(full.json, undefined);
  assert.equal(full.failOnRegression, undefined);
  assert.equal(full.help, false);
  assert.equal(full.clientEngine, "deno");
  const quick = parseBenchArgs(["--quick"]);
  assert.equal(quick.reps, 1);
  assert.equal(quick.secs, 1);
  assert.equal(quick.idleConnections, 500);
});

Deno.test("parseBenchArgs() keeps every flag: --reps, --secs, --json, --baseline, --fail-on-regression, --help", () => {
  const options = parseBenchArgs([
    "--quick",
    "--reps",
    "5",
    "--secs=0.5",
    "--json",
    "run.json",
    "--baseline",
    "old.json",
    "--fail-on-regression",
    "10",
    "--client-engine",
    "epoll",
  ]);
  assert.equal(options.clientEngine, "epoll");
  assert.equal(options.reps, 5);
  assert.equal(options.secs, 0.5);
  assert.equal(options.json, "run.json");
  assert.equal(options.baseline, "old.json");
  assert.equal(options.failOnRegression, 10);
  assert.equal(parseBenchArgs(["-h"]).help, true);
});

Deno.test("parseBenchArgs() names the flag and the value it cannot use", () => {
  assert.throws(
    () => parseBenchArgs(["--reps", "0"]),
    (error) =>
      error instanceof ConfigError &&
      error.message === "Cannot parse flag --reps: expected a number >= 1, got '0'",
  );
  assert.throws(() => parseBenchArgs(["--secs", "fast"]), /--secs: .* got 'fast'/);
  assert.throws(() => parseBenchArgs(["--secs", ""]), /--secs: .* got ''/);
  assert.throws(
    () => parseBenchArgs(["--client-engine", "io_uring"]),
    /--client-engine: expected one of auto, epoll, deno, got 'io_uring'/,
  );
  assert.throws(
    () => parseBenchArgs(["--turbo"]),
    (error) =>
      error instanceof ConfigError && /Cannot parse command line: .*--turbo/.test(error.message),
  );
});

Deno.test("benchScenarios() turns the seed's matrix into ping-pong runs; --quick keeps a subset", () => {
  const full = benchScenarios(parseBenchArgs(["--secs", "2"]), SEED);
  assert.deepEqual(full.map((s) => s.name), ["baseline", "small-packets", "big-data"]);
  assert.deepEqual(full[2], {
    name: "big-data",
    mode: "pingpong",
    connections: 10,
    message_size: 65536,
    duration_secs: 2,
    rate: 0,
    warmup_secs: 0.5,
  });
  const quick = benchScenarios(parseBenchArgs(["--quick"]), SEED);
  assert.deepEqual(quick.map((s) => s.name), ["baseline", "big-data"]);
  assert.equal(quick[0]!.duration_secs, 1);
  assert.throws(
    () => benchScenarios(parseBenchArgs([]), "", "empty.toml"),
    /no \[\[scenarios\]\] in empty.toml/,
  );
});

Deno.test(
  "benchScenarios() reads the repository's load_test.toml",
  requires("read"),
  () => {
    const text = Deno.readTextFileSync(new URL("../load_test.toml", import.meta.url));
    const names = benchScenarios(parseBenchArgs(["--quick"]), text).map((s) => s.name);
    assert.deepEqual(names, ["baseline", "heavy-load", "stress-test", "big-data"]);
  },
);

Deno.test("parseBenchArgs() --only runs the sections named, every section by default", () => {
  assert.deepEqual([...parseBenchArgs([]).only], [...BENCH_SECTIONS]);
  assert.deepEqual([...parseBenchArgs(["--only", "tls, costs"]).only], ["tls", "costs"]);
  assert.deepEqual([...parseBenchArgs(["--only=matrix"]).only], ["matrix"]);
  for (const bad of ["tls,ssl", ",", ""]) {
    assert.throws(
      () => parseBenchArgs(["--only", bad]),
      (e: unknown) =>
        e instanceof ConfigError &&
        /^Cannot parse flag --only: expected sections from matrix, client, probe, memory, bulk, http, tls, costs, got '/
          .test(e.message),
      bad,
    );
  }
});

Deno.test("parseBenchArgs() --client picks the matrix's client: the C pingpong by default", () => {
  assert.equal(parseBenchArgs([]).client, "c");
  assert.equal(parseBenchArgs(["--client", "load-tester"]).client, "load-tester");
  assert.throws(
    () => parseBenchArgs(["--client", "wrk"]),
    /^ConfigError: Cannot parse flag --client: expected one of c, load-tester, got 'wrk'$/,
  );
});
