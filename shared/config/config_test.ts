import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import {
  ConfigError,
  helpText,
  loadConfig,
  parseTomlText,
  showValue,
  validateConfig,
  withDefaults,
} from "./mod.ts";

const NEEDS = requires("read", "write", "env");

const SCHEMA = {
  listen_addr: {
    type: "address",
    default: "127.0.0.1:3000",
    aliases: ["listen"],
    description: "Listen",
  },
  metrics_addr: {
    type: "address",
    allowOff: true,
    default: "127.0.0.1:9090",
    description: "Metrics",
  },
  connections: {
    type: "integer",
    default: 10,
    min: 1,
    max: 100_000,
    short: "c",
    description: "Conns",
  },
  ratio: { type: "number", default: 0.5, min: 0, max: 1, description: "Ratio" },
  duration_secs: { type: "duration", default: 5, min: 0, description: "Duration" },
  message_size: { type: "size", default: 1024, min: 1, description: "Size" },
  verbose: { type: "boolean", default: false, description: "Verbose" },
  relay: { type: "enum", values: ["loop", "streams"], default: "loop", description: "Relay" },
  allow: { type: "strings", default: [], description: "Allowed" },
  token: { type: "string", optional: true, env: "MONKEY_TEST_TOKEN", description: "Token" },
  legacy: { type: "ignored", flag: false, notice: "ignored", description: "Legacy" },
  health: {
    type: "table",
    description: "Health",
    fields: { interval_ms: { type: "integer", default: 2000, min: 1, description: "Interval" } },
  },
  backends: {
    type: "tables",
    description: "Backends",
    fromFlag: (text: string) => {
      const [addr, ...rest] = text.split(",");
      return {
        addr,
        ...Object.fromEntries(rest.map((kv) => [kv.split("=")[0], Number(kv.split("=")[1])])),
      };
    },
    fields: {
      addr: { type: "address", description: "Backend" },
      weight: { type: "integer", default: 1, min: 1, description: "Weight" },
    },
  },
} as const;

async function withFile(text: string | Uint8Array, fn: (path: string) => void | Promise<void>) {
  const path = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    if (typeof text === "string") await Deno.writeTextFile(path, text);
    else await Deno.writeFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("loadConfig() gives defaults with no file and no flags", () => {
  const { config } = loadConfig(SCHEMA);
  assert.equal(config.listen_addr, "127.0.0.1:3000");
  assert.equal(config.connections, 10);
  assert.equal(config.health.interval_ms, 2000);
  assert.deepEqual(config.backends, []);
  assert.equal(config.token, undefined);
});

Deno.test("loadConfig() reads the file and flags win over it", NEEDS, async () => {
  await withFile(
    `listen_addr = "127.0.0.1:4000"\nconnections = 50\nduration_secs = "2m"\nmessage_size = "64KiB"\n` +
      `allow = ["10.0.0.0/8"]\nlegacy = 7\n[health]\ninterval_ms = 50\n[[backends]]\naddr = "127.0.0.1:8081"\n`,
    (path) => {
      const { config, notices, configPath } = loadConfig(SCHEMA, {
        args: [
          "--config",
          path,
          "--listen",
          "[::1]:0",
          "-c",
          "7",
          "--relay",
          "streams",
          "--verbose",
        ],
      });
      assert.equal(configPath, path);
      assert.equal(config.listen_addr, "[::1]:0");
      assert.equal(config.connections, 7);
      assert.equal(config.duration_secs, 120);
      assert.equal(config.message_size, 65536);
      assert.equal(config.relay, "streams");
      assert.equal(config.verbose, true);
      assert.deepEqual(config.allow, ["10.0.0.0/8"]);
      assert.equal(config.health.interval_ms, 50);
      assert.deepEqual(config.backends, [{ addr: "127.0.0.1:8081", weight: 1 }]);
      assert.deepEqual(notices, [`legacy in ${path}: ignored`]);
    },
  );
});

Deno.test("loadConfig() turns repeated flags into arrays of tables and strings", () => {
  const { config } = loadConfig(SCHEMA, {
    args: [
      "--backends",
      "127.0.0.1:1,weight=3",
      "--backends",
      "127.0.0.1:2",
      "--allow",
      "a",
      "--allow",
      "b",
    ],
  });
  assert.deepEqual(config.backends, [{ addr: "127.0.0.1:1", weight: 3 }, {
    addr: "127.0.0.1:2",
    weight: 1,
  }]);
  assert.deepEqual(config.allow, ["a", "b"]);
});

Deno.test(
  "loadConfig() reads an env fallback and lets --flag=false switch a boolean off",
  NEEDS,
  () => {
    Deno.env.set("MONKEY_TEST_TOKEN", "s3cret");
    try {
      const { config } = loadConfig(SCHEMA, { args: ["--verbose=false"] });
      assert.equal(config.token, "s3cret");
      assert.equal(config.verbose, false);
    } finally {
      Deno.env.delete("MONKEY_TEST_TOKEN");
    }
  },
);

const BAD_FILES: [string, string | Uint8Array, RegExp][] = [
  ["wrong type", `connections = "ten"`, /'connections' in .*: expected an integer, got 'ten'/],
  ["float for integer", `connections = 1.5`, /'connections' .*expected an integer, got 1\.5/],
  ["out of range", `connections = 0`, /'connections' .*>= 1.*got 0/],
  ["too large", `ratio = 2.5`, /'ratio' .*<= 1.*got 2\.5/],
  [
    "port out of range",
    `listen_addr = "127.0.0.1:70000"`,
    /'listen_addr' .*port number 0-65535, got '127\.0\.0\.1:70000'/,
  ],
  ["no port", `listen_addr = "3000"`, /'listen_addr' .*expected host:port, got '3000'/],
  ["bad IPv6", `listen_addr = "[:::1]:80"`, /'listen_addr' .*IPv6.*got '\[:::1\]:80'/],
  ["unbracketed IPv6", `listen_addr = "::1:80"`, /'listen_addr' .*brackets.*got '::1:80'/],
  ["address not a string", `metrics_addr = 9090`, /'metrics_addr' .*got 9090/],
  ["unknown enum", `relay = "warp-drive"`, /'relay' .*one of 'loop', 'streams'.*got 'warp-drive'/],
  [
    "unknown key",
    `listen_adr = "127.0.0.1:1"`,
    /Unknown key 'listen_adr' in .*got '127\.0\.0\.1:1'/,
  ],
  [
    "duplicate key",
    `connections = 1\nconnections = 2`,
    /invalid TOML: duplicate key 'connections' \(line 2, column 1\), got 'connections = 2'$/,
  ],
  ["syntax error", `connections = `, /Cannot parse .*invalid TOML: .*, got 'connections ='$/],
  ["boolean as string", `verbose = "yes"`, /'verbose' .*true or false, got 'yes'/],
  ["bad duration", `duration_secs = "forever"`, /'duration_secs' .*duration.*got 'forever'/],
  ["bad size", `message_size = "1 parsec"`, /'message_size' .*size.*got '1 parsec'/],
  ["array for string list item", `allow = [1]`, /'allow\[0\]' .*expected a string, got 1/],
  ["table where scalar", `connections = { a = 1 }`, /'connections' .*got \{"a":1\}/],
  ["nested unknown key", `[health]\nintervl_ms = 5`, /Unknown key 'health\.intervl_ms'/],
  ["nested bad value", `[health]\ninterval_ms = -5`, /'health\.interval_ms' .*got -5/],
  [
    "array of tables item",
    `[[backends]]\naddr = "nowhere"`,
    /'backends\[0\]\.addr' .*got 'nowhere'/,
  ],
  ["missing required key", `[[backends]]\nweight = 2`, /'backends\[0\]\.addr'|required/],
  ["binary garbage", new Uint8Array([0xff, 0xfe, 0x00, 0x9c, 0x80, 0x01]), /not UTF-8 text/],
  ["NUL bytes", "connections = 1\u0000\u0001", /Cannot parse .*invalid TOML/],
];

for (const [name, text, pattern] of BAD_FILES) {
  Deno.test(`loadConfig() rejects a file with ${name} in one line`, NEEDS, async () => {
    await withFile(text, (path) => {
      assert.throws(() => loadConfig(SCHEMA, { args: ["--config", path] }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes("\n"), `one line: ${JSON.stringify(error.message)}`);
        assert.ok(error.message.includes(path), "names the file");
        return true;
      });
    });
  });
}

const BAD_FLAGS: [string[], RegExp][] = [
  [["--connections", "x"], /flag --connections: expected an integer, got 'x'/],
  [["--listen", "3000"], /flag --listen-addr: expected host:port, got '3000'/],
  [["--relay", "warp-drive"], /flag --relay: expected one of/],
  [["--bogus"], /unknown flag --bogus; see --help/],
  [["--ratio=-1"], /flag --ratio: expected a value >= 0/],
  [["--backends", "nope"], /flag --backends: .*got 'nope'/],
  [
    ["--config", "/nonexistent/monkey.toml"],
    /Cannot read config file \/nonexistent\/monkey\.toml: not found/,
  ],
  [["--config", "/"], /Cannot read config file \/: it is a directory/],
];

for (const [args, pattern] of BAD_FLAGS) {
  Deno.test(`loadConfig() rejects flags ${args.join(" ")} in one line`, NEEDS, () => {
    assert.throws(() => loadConfig(SCHEMA, { args }), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  });
}

Deno.test("loadConfig() reports --help and helpText() lists every flag", () => {
  assert.equal(loadConfig(SCHEMA, { args: ["--help"] }).help, true);
  const text = helpText("monkey [flags]", SCHEMA);
  for (const flag of ["--listen-addr, --listen", "-c, --connections", "--relay", "--backends"]) {
    assert.ok(text.includes(flag), flag);
  }
  assert.ok(!text.includes("--legacy"));
});

Deno.test("validateConfig(), withDefaults() and parseTomlText() share the rules", () => {
  assert.equal(
    validateConfig(SCHEMA, parseTomlText("connections = 3", "x.toml"), "x.toml").connections,
    3,
  );
  assert.equal(withDefaults(SCHEMA, { connections: 9 }).relay, "loop");
  assert.throws(
    () => validateConfig(SCHEMA, { nope: 1 }, "x.toml"),
    /Unknown key 'nope' in x\.toml/,
  );
});

Deno.test("showValue() keeps error lines short and printable", () => {
  assert.equal(showValue("a\nb"), "'a?b'");
  assert.ok(showValue("x".repeat(500)).length < 70);
});

Deno.test("config errors never echo a token, password or secret value", NEEDS, () => {
  const schema = {
    admin_token: { type: "string", optional: true, env: "X_TOKEN", description: "Token" },
  } as const;
  for (
    const [text, pattern] of [
      [`admin_token = 12345678`, /'admin_token' in .*expected a string, got '<redacted>'$/],
      [`admin_tokn = "hunter2"`, /Unknown key 'admin_tokn' in .*got '<redacted>'/],
      [`db_password = "hunter2"`, /Unknown key 'db_password' in .*got '<redacted>'/],
    ] as const
  ) {
    const path = Deno.makeTempFileSync({ suffix: ".toml" });
    try {
      Deno.writeTextFileSync(path, text);
      assert.throws(() => loadConfig(schema, { args: ["--config", path] }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, pattern);
        assert.ok(!/hunter2|12345678/.test(error.message), error.message);
        return true;
      });
    } finally {
      Deno.removeSync(path);
    }
  }
});

Deno.test("a flag value starting with '-' is rejected naming the flag and the value", () => {
  const schema = {
    connections: { type: "integer", default: 1, min: 1, short: "c", description: "Conns" },
  } as const;
  for (const args of [["-c", "-5"], ["--connections", "-5"]]) {
    assert.throws(
      () => loadConfig(schema, { args }),
      new ConfigError(
        "Cannot parse flag --connections: a value starting with '-' must be written " +
          "--connections=-5, got '-5'",
      ),
    );
  }
  assert.throws(
    () => loadConfig(schema, { args: ["--connections=-5"] }),
    /flag --connections: expected a value >= 1, got '-5'/,
  );
});
