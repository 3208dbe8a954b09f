import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { DEFAULTS, loadTestConfig, parseSlo } from "./config.ts";

const NEEDS = requires("read");

const SEED_FILE = new URL("../load_test.toml", import.meta.url).pathname;
const NO_FILE = "/nonexistent/load_test.toml";

async function withToml(text: string, f: (path: string) => void): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    await Deno.writeTextFile(path, text);
    f(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test(
  "loadTestConfig() reads the seed's load_test.toml as a seven-scenario matrix",
  NEEDS,
  () => {
    const resolved = loadTestConfig(["--config", SEED_FILE]);
    assert.equal(resolved.matrix, true);
    assert.equal(resolved.target, "127.0.0.1:3000");
    assert.deepEqual(
      resolved.scenarios.map((s) => [s.name, s.connections, s.duration_secs, s.message_size]),
      [
        ["baseline", 10, 5, 1024],
        ["small-packets", 10, 5, 64],
        ["large-packets", 10, 5, 8192],
        ["medium-load", 50, 5, 1024],
        ["heavy-load", 100, 5, 1024],
        ["stress-test", 500, 5, 1024],
        ["big-data", 10, 5, 65536],
      ],
    );
    assert.ok(resolved.scenarios.every((s) => s.mode === "pingpong" && s.rate === 0));
  },
);

Deno.test("loadTestConfig() reads load_test.toml by default", NEEDS, () => {
  const resolved = loadTestConfig([], { defaultConfigPath: SEED_FILE });
  assert.equal(resolved.configPath, SEED_FILE);
  assert.equal(resolved.scenarios.length, 7);
});

Deno.test(
  "loadTestConfig(): shaping flags without --config or --scenario run one scenario",
  NEEDS,
  () => {
    for (
      const flag of [["-c", "50"], ["-d", "1s"], ["-s", "1KiB"], ["--mode", "churn"], [
        "--rate",
        "9",
      ]]
    ) {
      const resolved = loadTestConfig(flag, { defaultConfigPath: SEED_FILE });
      assert.equal(resolved.scenarios.length, 1, flag.join(" "));
      assert.equal(resolved.matrix, false);
      assert.equal(resolved.scenarios[0]!.name, "default");
    }
    const named = loadTestConfig(["-c", "50", "--scenario", "big-data"], {
      defaultConfigPath: SEED_FILE,
    });
    assert.deepEqual(named.scenarios.map((s) => [s.name, s.connections]), [["big-data", 50]]);
    const explicit = loadTestConfig(["--config", SEED_FILE, "-c", "50"]);
    assert.equal(explicit.scenarios.length, 7);
    assert.ok(explicit.scenarios.every((s) => s.connections === 50));
    assert.equal(
      loadTestConfig(["--workers", "2"], { defaultConfigPath: SEED_FILE }).scenarios.length,
      7,
    );
  },
);

Deno.test("loadTestConfig() without a file runs single mode with the seed's defaults", () => {
  const resolved = loadTestConfig([], { defaultConfigPath: NO_FILE });
  assert.equal(resolved.matrix, false);
  assert.equal(resolved.target, DEFAULTS.target_addr);
  assert.deepEqual(resolved.scenarios, [{
    name: "default",
    mode: "pingpong",
    connections: 10,
    duration_secs: 10,
    message_size: 1024,
    rate: 0,
    warmup_secs: 0,
  }]);
});

Deno.test("loadTestConfig() takes every flag, with units and short forms", () => {
  const resolved = loadTestConfig([
    "--target",
    "[::1]:8081",
    "-c",
    "7",
    "-d",
    "2m",
    "-s",
    "64KiB",
    "--mode",
    "churn",
    "--rate",
    "500",
    "--warmup",
    "500ms",
    "--workers",
    "2",
    "--format",
    "csv",
    "--out",
    "x.csv",
    "--baseline",
    "b.json",
    "--fail-on-regression",
    "10",
    "--metrics",
    "127.0.0.1:0",
  ], { defaultConfigPath: NO_FILE });
  assert.equal(resolved.target, "[::1]:8081");
  assert.deepEqual(resolved.scenarios[0], {
    name: "default",
    mode: "churn",
    connections: 7,
    duration_secs: 120,
    message_size: 65536,
    rate: 500,
    warmup_secs: 0.5,
  });
  const c = resolved.config;
  assert.deepEqual(
    [c.workers, c.format, c.out, c.baseline, c.fail_on_regression, c.metrics_addr],
    [2, "csv", "x.csv", "b.json", 10, "127.0.0.1:0"],
  );
});

Deno.test(
  "loadTestConfig() lets flags override every scenario and --scenario pick one",
  NEEDS,
  () => {
    const all = loadTestConfig(["--config", SEED_FILE, "-d", "1", "--target", "127.0.0.1:9"]);
    assert.ok(all.scenarios.every((s) => s.duration_secs === 1));
    assert.equal(all.scenarios[3]!.connections, 50);
    assert.equal(all.target, "127.0.0.1:9");
    const one = loadTestConfig(["--config", SEED_FILE, "--scenario", "big-data"]);
    assert.deepEqual(one.scenarios.map((s) => s.name), ["big-data"]);
    assert.equal(one.scenarios[0]!.message_size, 65536);
  },
);

Deno.test(
  "loadTestConfig() reads the new per-scenario keys and top-level fallbacks",
  NEEDS,
  async () => {
    await withToml(
      `target_addr = "127.0.0.1:9"\nconnections = 3\nmode = "churn"\n` +
        `[[scenarios]]\nname = "a"\nrate = 100\nwarmup_secs = 1\n` +
        `[[scenarios]]\nname = "b"\nmode = "pingpong"\nduration_secs = "2s"\nmessage_size = "1KiB"\n`,
      (path) => {
        const { scenarios } = loadTestConfig(["--config", path]);
        assert.deepEqual(scenarios[0], {
          name: "a",
          mode: "churn",
          connections: 3,
          duration_secs: 10,
          message_size: 1024,
          rate: 100,
          warmup_secs: 1,
        });
        assert.equal(scenarios[1]!.mode, "pingpong");
        assert.equal(scenarios[1]!.duration_secs, 2);
        assert.equal(scenarios[1]!.connections, 3);
      },
    );
  },
);

Deno.test(
  "loadTestConfig() rejects bad config and flags with one line naming the key",
  NEEDS,
  async () => {
    const cases: [string[], RegExp][] = [
      [["-c", "0"], /flag --connections: expected a value >= 1/],
      [["-d", "soon"], /flag --duration: expected seconds/],
      [["-s", "big"], /flag --size: expected bytes/],
      [["--mode", "flood"], /flag --mode: expected one of 'pingpong', 'churn'/],
      [["--target", "3000"], /flag --target/],
      [["--format", "xml"], /flag --format/],
      [["--bogus"], /Cannot parse command line/],
      [["--fail-on-regression", "5"], /needs --baseline/],
      [["--config", SEED_FILE, "--scenario", "nope"], /no scenario named 'nope'/],
      [["--slo", "p99 under 2ms"], /--slo/],
    ];
    for (const [args, pattern] of cases) {
      assert.throws(
        () => loadTestConfig(args, { defaultConfigPath: NO_FILE }),
        (e: unknown) =>
          e instanceof ConfigError && pattern.test(e.message) && !e.message.includes("\n"),
        args.join(" "),
      );
    }
    await withToml(`[[scenarios]]\nname = "x"\nconections = 5\n`, (path) => {
      assert.throws(
        () => loadTestConfig(["--config", path]),
        /Unknown key 'scenarios\[0\]\.conections'/,
      );
    });
    await withToml(`message_size = -1\n`, (path) => {
      assert.throws(() => loadTestConfig(["--config", path]), /'message_size' in .*>= 1/);
    });
  },
);

Deno.test("parseSlo() reads percentile objectives", () => {
  assert.deepEqual(parseSlo("p99<2ms"), {
    key: "p99",
    percentile: 99,
    limitUs: 2000,
    text: "p99<2ms",
  });
  assert.equal(parseSlo("p99.9 < 500us").key, "p999");
  assert.equal(parseSlo("p50<1s").limitUs, 1_000_000);
  assert.throws(() => parseSlo("p98<1ms"), ConfigError);
});
