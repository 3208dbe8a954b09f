import assert from "node:assert/strict";
import { loadConfig } from "@monkey/shared";
import {
  type BadConfigCase,
  badConfigExitProblems,
  badConfigProblems,
  GENERIC_BAD_CONFIGS,
  SERVICE_BAD_CONFIGS,
} from "@monkey/testing/bad-config";
import { requires } from "@monkey/testing";
import { ECHO_SCHEMA } from "./config.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const ECHO_CASES: BadConfigCase[] = [
  {
    name: "listen address without host",
    file: `listen_addr = "8081"`,
    expect: /'listen_addr' in .*expected host:port, got '8081'/,
  },
  {
    name: "listen port out of range",
    file: `listen_addr = "127.0.0.1:65536"`,
    expect: /'listen_addr' in .*port number 0-65535, got '127\.0\.0\.1:65536'/,
  },
  {
    name: "unbracketed IPv6",
    file: `listen_addr = "::1:8081"`,
    expect: /'listen_addr' in .*brackets.*got '::1:8081'/,
  },
  {
    name: "listen address as a number",
    file: `listen_addr = 8081`,
    expect: /'listen_addr' in .*host:port.*got 8081/,
  },
  {
    name: "fractional max_connections",
    file: `max_connections = 1.5`,
    expect: /'max_connections' in .*expected an integer, got 1\.5/,
  },
  {
    name: "negative max_connections",
    file: `max_connections = -1`,
    expect: /'max_connections' in .*>= 0.*got -1/,
  },
  {
    name: "idle timeout as text",
    file: `idle_timeout_secs = "soon"`,
    expect: /'idle_timeout_secs' in .*expected a number, got 'soon'/,
  },
  {
    name: "listen flag with a bare IPv6",
    args: ["--listen", "[::1]"],
    expect: /flag --listen-addr: expected \[ipv6\]:port, got '\[::1\]'/,
  },
];

const ALL = [...GENERIC_BAD_CONFIGS, ...SERVICE_BAD_CONFIGS, ...ECHO_CASES];

Deno.test(
  "echo config: every malformed file and flag set gives one line naming file, key and value",
  requires("read", "write"),
  async () => {
    assert.ok(ALL.length >= 20, `${ALL.length} cases`);
    assert.deepEqual(await badConfigProblems((args) => loadConfig(ECHO_SCHEMA, { args }), ALL), []);
  },
);

Deno.test(
  "echo/main.ts exits 2 with one stderr line and no stack trace on bad input",
  requires("read", "write", "run"),
  async () => {
    const cases = ALL.filter((c) =>
      ["unknown key", "binary garbage", "missing file", "unknown flag", "unbracketed IPv6"]
        .includes(c.name)
    );
    assert.equal(cases.length, 5);
    assert.deepEqual(
      await badConfigExitProblems(
        ["run", "--allow-net", "--allow-read", "echo/main.ts"],
        ROOT,
        cases,
      ),
      [],
    );
  },
);
