import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import {
  assertEchoes,
  certFiles,
  dial,
  type EngineName,
  metricsJson,
  REPO_ROOT,
  requires,
  runDeno,
  spawnDeno,
  testEachEngine,
  tlsDial,
} from "@monkey/testing";
import { startTestEcho } from "./_testing.ts";

const NEEDS = requires("run", "read", "write", "env");

const RUN = ["run", "--allow-net", "--allow-read", "proxy/main.ts"];

/** `deno run` of the proxy on `engine` (FFI granted only where the engine needs it). */
function runOn(engine: EngineName): string[] {
  const ffi = engine === "epoll" ? ["--allow-ffi"] : [];
  return ["run", "--allow-net", "--allow-read", ...ffi, "proxy/main.ts", "--engine", engine];
}

/** Flags that proxy a free loopback port to `target`, the endpoint on `metrics`. */
function toTarget(target: string, metrics = "off"): string[] {
  return ["--listen", "127.0.0.1:0", "--target", target, "--metrics", metrics];
}

testEachEngine(
  "deno task proxy relays, serves metrics, and drains on SIGINT with a final summary",
  async ({ engine }) => {
    await using echo = startTestEcho(engine);
    await using proxy = spawnDeno(
      ["task", "proxy", "--engine", engine, ...toTarget(echo.addr, "127.0.0.1:0")],
      REPO_ROOT,
    );
    const [, addr, label, metrics] = await proxy.waitForLine(
      /proxying (\S+) -> \S+ \(engine: (.*)\); metrics on http:\/\/(\S+)\/metrics/,
    );
    assert.equal(label, engine === "epoll" ? "epoll" : "deno (loop relay)");
    const conn = await dial(addr!);
    await assertEchoes(conn, 5);
    const json = await metricsJson(metrics!);
    assert.equal(json.engine, engine);
    assert.equal(json.active_connections, 1);
    assert.equal(json.bytes_upstream, 5);
    conn.close();
    const status = await proxy.stop("SIGINT");
    assert.equal(status.code, 0);
    assert.ok(
      proxy.lines.some((l) => /\[METRICS\] active: 0 \| total: 1 \| up: 5B \| down: 5B/.test(l)),
      proxy.lines.join("\n"),
    );
    assert.ok(proxy.lines.some((l) => /stopped after .*: 1 connection$/.test(l)));
  },
  NEEDS,
);

Deno.test(
  "proxy/main.ts loads the seed's proxy.toml unchanged and notes the ignored key",
  NEEDS,
  async () => {
    await using proxy = spawnDeno(
      [
        ...RUN,
        "--config",
        "proxy/testdata/seed_proxy.toml",
        "--listen",
        "127.0.0.1:0",
        "--metrics",
        "off",
      ],
      REPO_ROOT,
    );
    await proxy.waitForLine(
      /proxying 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:8081 \(engine: (epoll|deno \(loop relay\))\)/,
    );
    assert.ok(
      proxy.lines.some((l) =>
        /channel_buffer_size in proxy\/testdata\/seed_proxy\.toml: accepted .* ignored/.test(l)
      ),
    );
    assert.equal((await proxy.stop("SIGTERM")).code, 0);
  },
);

testEachEngine(
  "proxy/main.ts exits 1 with one line when the listen address is taken",
  async ({ engine }) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const { code, stderr } = await runDeno([
        ...runOn(engine),
        "--listen",
        `127.0.0.1:${taken.addr.port}`,
        "--metrics",
        "off",
      ], REPO_ROOT);
      assert.equal(code, 1);
      assert.equal(
        stderr.trim(),
        `Cannot listen on 127.0.0.1:${taken.addr.port} (listen_addr): address already in use`,
      );
    } finally {
      taken.close();
    }
  },
  NEEDS,
);

const BAD: [string, string, RegExp][] = [
  [
    "bad address",
    `listen_addr = "3000"`,
    /Cannot parse 'listen_addr' in .*\.toml: expected host:port, got '3000'/,
  ],
  [
    "port out of range",
    `target_addr = "127.0.0.1:99999"`,
    /'target_addr' .*got '127\.0\.0\.1:99999'/,
  ],
  ["bad IPv6", `target_addr = "[::g]:80"`, /'target_addr' .*IPv6.*got '\[::g\]:80'/],
  [
    "wrong type",
    `grace_period_secs = "thirty"`,
    /'grace_period_secs' .*expected a number, got 'thirty'/,
  ],
  ["negative", `connect_timeout_ms = -1`, /'connect_timeout_ms' .*got -1/],
  [
    "unknown relay",
    `relay = "warp-drive"`,
    /'relay' .*expected one of 'loop', 'streams', got 'warp-drive'/,
  ],
  ["unknown key", `listen = "127.0.0.1:1"`, /Unknown key 'listen' in /],
  ["duplicate key", `relay = "loop"\nrelay = "loop"`, /Cannot parse .*invalid TOML/],
  ["bad log level", `log_level = "loud"`, /'log_level' .*got 'loud'/],
  ["metrics word", `metrics_addr = "on"`, /'metrics_addr' .*or 'off', got 'on'/],
];

for (const [name, text, pattern] of BAD) {
  Deno.test(`proxy/main.ts rejects a config with ${name}: one line, exit 2`, NEEDS, async () => {
    const path = await Deno.makeTempFile({ suffix: ".toml" });
    try {
      await Deno.writeTextFile(path, text);
      const { code, stderr, stdout } = await runDeno([...RUN, "--config", path], REPO_ROOT);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, pattern);
    } finally {
      await Deno.remove(path);
    }
  });
}

const BAD_FLAGS: [string[], RegExp][] = [
  [["--max-connections", "lots"], /flag --max-connections: expected an integer, got 'lots'/],
  [["--relay", "warp-drive"], /flag --relay: expected one of/],
  [["--no-such-flag"], /unknown flag --no-such-flag; see --help/],
  [["--config", "/nonexistent.toml"], /Cannot read config file \/nonexistent\.toml: not found/],
];

for (const [args, pattern] of BAD_FLAGS) {
  Deno.test(`proxy/main.ts rejects ${args.join(" ")}: one line, exit 2`, NEEDS, async () => {
    const { code, stderr } = await runDeno([...RUN, ...args], REPO_ROOT);
    assert.equal(code, 2);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, pattern);
  });
}

Deno.test("proxy/main.ts --help lists every key as a flag", NEEDS, async () => {
  const { code, stdout } = await runDeno([...RUN, "--help"], REPO_ROOT);
  assert.equal(code, 0);
  for (
    const flag of [
      "--listen-addr, --listen",
      "--target-addr, --target",
      "--connect-timeout-ms",
      "--relay",
    ]
  ) {
    assert.ok(stdout.includes(flag), flag);
  }
});

testEachEngine(
  "proxy/main.ts logs [METRICS] periodically and a second signal exits at once",
  async ({ engine }) => {
    await using echo = startTestEcho(engine);
    await using proxy = spawnDeno(
      [...runOn(engine), ...toTarget(echo.addr), "--metrics-log-interval-secs", "0.05"],
      REPO_ROOT,
    );
    const [, addr] = await proxy.waitForLine(/proxying (\S+) ->/);
    const conn = await dial(addr!);
    await assertEchoes(conn, 2048);
    await proxy.waitForLine(/\[METRICS\] active: 1 \| total: 1 \| up: 2\.0KB \| down: 2\.0KB/);
    proxy.child.kill("SIGINT"); // starts a drain with the default 30 s grace period
    await proxy.waitForLine(/shutting down \(SIGINT\): .*press Ctrl\+C again/);
    proxy.child.kill("SIGINT"); // the same Ctrl+C delivered twice (process group + deno task): ignored
    await new Promise((resolve) => setTimeout(resolve, 400)); // a real second Ctrl+C comes later
    assert.ok(
      !proxy.lines.some((l) => /second signal/.test(l)),
      "a duplicate signal forced the exit",
    );
    const started = performance.now();
    const status = await proxy.stop("SIGINT");
    assert.equal(status.code, 130);
    assert.ok(
      performance.now() - started < 5000,
      "the second signal did not wait for the grace period",
    );
    assert.ok(proxy.lines.some((l) => /second signal \(SIGINT\): exiting now/.test(l)));
    conn.close();
  },
  NEEDS,
);

Deno.test(
  "proxy/main.ts rejects a bad CIDR in allow/deny with one line naming it, exit 2",
  NEEDS,
  async () => {
    const path = await Deno.makeTempFile({ suffix: ".toml" });
    try {
      await Deno.writeTextFile(
        path,
        `allow = ["10.0.0.0/8"]\ndeny = ["10.0.0.0/8", "10.1.0.0/33"]`,
      );
      const { code, stderr } = await runDeno([...RUN, "--config", path], REPO_ROOT);
      assert.equal(code, 2);
      assert.equal(
        stderr.trim(),
        `Cannot parse 'deny[1]' in ${path}: expected a prefix length 0-32 after '/', got '10.1.0.0/33'`,
      );
      const flags = await runDeno(
        [...RUN, "--allow", "127.0.0.1", "--allow", "localhost"],
        REPO_ROOT,
      );
      assert.equal(flags.code, 2);
      assert.match(
        flags.stderr.trim(),
        /^Cannot parse flag --allow: expected an IPv4 or IPv6 .* got 'localhost'$/,
      );
    } finally {
      await Deno.remove(path);
    }
  },
);

Deno.test(
  "proxy/main.ts with workers = 2: SIGHUP reloads the TLS certificate in every worker, a bad one is kept out",
  NEEDS,
  async () => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
    using files = certFiles("a.test");
    await using proxy = spawnDeno(
      [
        ...RUN,
        "--workers",
        "2",
        ...toTarget(echo.addr),
        "--tls-cert",
        files.cert,
        "--tls-key",
        files.key,
      ],
      REPO_ROOT,
    );
    const [, addr] = await proxy.waitForLine(/proxying (\S+) -> .*2 workers/);
    files.useCert("b.test"); // the key no longer matches
    proxy.child.kill("SIGHUP");
    await proxy.waitForLine(/TLS certificate reload failed, keeping the old one: .*does not match/);
    (await tlsDial(addr!, "a.test")).close();
    files.useKey("b.test");
    proxy.child.kill("SIGHUP");
    await proxy.waitForLine(/TLS certificate reloaded from .* in 2 workers/);
    for (let i = 0; i < 6; i++) (await tlsDial(addr!, "b.test")).close();
    assert.equal((await proxy.stop("SIGTERM")).code, 0);
    await echo.shutdown(1000);
  },
);
