import assert from "node:assert/strict";
import { requires, runDeno, spawnLines } from "@monkey/testing";
import { Logger, memorySink } from "./logger.ts";
import { plural, startSummaryLogger } from "./main.ts";
import { VERSION } from "./version.ts";

const FAKE = new URL("./testdata/fake_service.ts", import.meta.url).pathname;
const CLI = requires("run", "read");

Deno.test("startSummaryLogger() writes an unchanged line again only after idleRepeatMs", async () => {
  const { sink, lines } = memorySink();
  const texts = ["[METRICS] a", "[METRICS] a", "[METRICS] a", "[METRICS] b", "[METRICS] b"];
  const done = Promise.withResolvers<void>();
  let calls = 0;
  const stop = startSummaryLogger(
    0.002,
    () => {
      const text = texts[calls++] ?? "[METRICS] b";
      if (calls === texts.length) done.resolve();
      return text;
    },
    new Logger({ sink }),
    { idleRepeatMs: 60_000 },
  );
  await done.promise;
  stop();
  assert.deepEqual(lines.map((l) => l.replace(/^.*INFO {2}/, "")), ["[METRICS] a", "[METRICS] b"]);
});

Deno.test("startSummaryLogger() repeats an unchanged line once idleRepeatMs has passed", async () => {
  const { sink, lines } = memorySink();
  const done = Promise.withResolvers<void>();
  let calls = 0;
  const stop = startSummaryLogger(
    0.002,
    () => {
      if (++calls === 4) done.resolve();
      return "[METRICS] same";
    },
    new Logger({ sink }),
    { idleRepeatMs: 0 },
  );
  await done.promise;
  stop();
  assert.equal(lines.length, 3, "each of the first three calls wrote its line");
});

Deno.test("plural() says '1 connection' and '2 connections'", () => {
  assert.equal(plural(1, "connection"), "1 connection");
  assert.equal(plural(0, "connection"), "0 connections");
  assert.equal(plural(2, "connection"), "2 connections");
});

/** What a run prints: equal to a string, or matching a pattern. */
type Expect = { stdout?: string | RegExp; stderr?: string | RegExp };

/** Runs of the fake service that end at once: test name, flags, exit code, what it prints. */
const RUNS: [name: string, args: string[], code: number, expect: Expect][] = [
  [
    "serviceMain() --version prints the product version and exits 0",
    ["--version"],
    0,
    { stdout: new RegExp(`^monkey-fake ${VERSION.replaceAll(".", "\\.")} \\(deno `) },
  ],
  [
    "serviceMain() --check validates and exits 0 without starting the service",
    ["--check", "--fail", "service"],
    0,
    { stdout: "fake: configuration (defaults and flags) is valid\n" },
  ],
  [
    "serviceMain() --check exits 2 with the error line on a bad value",
    ["--check", "--count", "-x"],
    2,
    { stderr: /--count/ },
  ],
  [
    "an unknown flag names the nearest one and --help, exit 2",
    ["--cout", "3"],
    2,
    {
      stderr: "Cannot parse command line: unknown flag --cout: did you mean --count? See --help\n",
    },
  ],
  [
    "runMain() exits 2 with one line on a config error",
    ["--count", "abc"],
    2,
    { stderr: "Cannot parse flag --count: expected an integer, got 'abc'\n" },
  ],
  [
    "runMain() exits 1 with the ServiceError's one line",
    ["--fail", "service"],
    1,
    { stderr: "Cannot listen on 127.0.0.1:1 (listen_addr): address already in use\n" },
  ],
  [
    "runMain() exits 1 with 'error:' and the first line of any other error",
    ["--fail", "error"],
    1,
    { stderr: "error: boom\n" },
  ],
];

for (const [name, args, code, expect] of RUNS) {
  Deno.test(name, CLI, async () => {
    const out = await runDeno(["run", "--allow-read", FAKE, ...args], ".");
    assert.equal(out.code, code, out.stderr);
    for (const stream of ["stdout", "stderr"] as const) {
      const want = expect[stream];
      if (typeof want === "string") assert.equal(out[stream], want, stream);
      else if (want !== undefined) assert.match(out[stream], want, stream);
    }
  });
}

Deno.test(
  "serviceMain() names the PID in the startup line, writes pid_file and removes it at exit",
  requires("run", "read", "write"),
  async () => {
    const dir = Deno.makeTempDirSync();
    const pidFile = `${dir}/fake.pid`;
    try {
      await using proc = spawnLines(Deno.execPath(), [
        "run",
        "--allow-read",
        `--allow-write=${dir}`,
        FAKE,
        "--count",
        "1",
        "--pid-file",
        pidFile,
      ]);
      const [, pid] = await proc.waitForLine(/fake on 127\.0\.0\.1:1 \(pid (\d+)\)$/);
      assert.equal(Number(pid), proc.child.pid);
      assert.equal(Deno.readTextFileSync(pidFile), `${proc.child.pid}\n`);
      const status = await proc.stop("SIGTERM");
      assert.equal(status.code, 0);
      assert.ok(proc.lines.some((l) => /stopped after 0\.5s: 1 connection$/.test(l)));
      assert.throws(() => Deno.statSync(pidFile), Deno.errors.NotFound, "pid_file removed");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("a pid_file that cannot be written is one line and exit 1", CLI, async () => {
  const out = await runDeno(
    ["run", "--allow-read", "--allow-write", FAKE, "--pid-file", "/nonexistent-dir/x.pid"],
    ".",
  );
  assert.equal(out.code, 1);
  assert.equal(
    out.stderr,
    "Cannot write pid_file /nonexistent-dir/x.pid: its directory does not exist\n",
  );
});
