/**
 * Tables of malformed config files and flag sets, and checks that a service rejects each with
 * exactly one line naming the file (or flag), the key and the bad value: in-process through
 * its config loader, and as a subprocess (exit code 2, one stderr line, no stack trace).
 * {@linkcode badConfigTests} registers both checks for a service in one call. Test support:
 * imported as `@monkey/testing/bad-config`, never by a service.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { requires } from "./permissions.ts";
import { REPO_ROOT, runDeno } from "./process.ts";

/** A config file that is not a TOML file. */
export type SpecialFile = "directory" | "missing";

/** One malformed input. */
export interface BadConfigCase {
  /** What is wrong, for the report. */
  name: string;
  /** The config file: TOML text, raw bytes, or a path that is no file. */
  file?: string | Uint8Array | SpecialFile;
  /** Flags (after `--config PATH` when there is a file). @default [] */
  args?: readonly string[];
  /** The one line expected. */
  expect: RegExp;
}

/** Problems every config file can have, whatever the service. */
export const GENERIC_BAD_CONFIGS: readonly BadConfigCase[] = [
  {
    name: "unknown key",
    file: `no_such_key = 1`,
    expect: /Unknown key 'no_such_key' in .*, got 1 /,
  },
  {
    name: "duplicate key",
    file: `metrics_addr = "off"\nmetrics_addr = "off"`,
    expect: /invalid TOML: duplicate key 'metrics_addr' \(line 2.*got 'metrics_addr = "off"'/,
  },
  {
    name: "TOML syntax error",
    file: `metrics_addr = "off`,
    expect: /invalid TOML: .*line 1.*got 'metrics_addr = "off'/,
  },
  {
    name: "binary garbage",
    file: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0xff, 0xfe, 0x00, 0x9c]),
    expect: /Cannot parse .*: not UTF-8 text \(binary file\?\)/,
  },
  {
    name: "NUL bytes",
    file: 'metrics_addr = "off"\u0000\u0001',
    expect: /Cannot parse .*: invalid TOML: /,
  },
  { name: "directory as file", file: "directory", expect: /Cannot read config file .*directory/ },
  { name: "missing file", file: "missing", expect: /Cannot read config file .*: not found/ },
  { name: "unknown flag", args: ["--warp-drive"], expect: /unknown flag --warp-drive; see --help/ },
  {
    name: "metrics address without port",
    file: `metrics_addr = "localhost"`,
    expect: /'metrics_addr' in .*expected host:port.*got 'localhost'/,
  },
  {
    name: "metrics address word",
    file: `metrics_addr = "on"`,
    expect: /'metrics_addr' in .*or 'off', got 'on'/,
  },
  {
    name: "bad IPv6 literal in metrics_addr",
    file: `metrics_addr = "[fe80::1::2]:9090"`,
    expect: /'metrics_addr' in .*IPv6.*got '\[fe80::1::2\]:9090'/,
  },
  {
    name: "metrics port out of range (flag)",
    args: ["--metrics", "127.0.0.1:70000"],
    expect: /flag --metrics-addr: expected a port number 0-65535.*got '127\.0\.0\.1:70000'/,
  },
];

/** Problems with the keys every long-running service shares (`commonFields`). */
export const SERVICE_BAD_CONFIGS: readonly BadConfigCase[] = [
  {
    name: "grace period as text",
    file: `grace_period_secs = "thirty"`,
    expect: /'grace_period_secs' in .*expected a number, got 'thirty'/,
  },
  {
    name: "negative grace period",
    file: `grace_period_secs = -1`,
    expect: /'grace_period_secs' in .*>= 0.*got -1/,
  },
  {
    name: "grace period as a table",
    file: `grace_period_secs = { secs = 1 }`,
    expect: /'grace_period_secs' in .*got \{"secs":1\}/,
  },
  {
    name: "unknown log level",
    file: `log_level = "loud"`,
    expect: /'log_level' in .*expected one of 'error', 'warn', 'info', 'debug', got 'loud'/,
  },
  {
    name: "log level flag",
    args: ["--log-level", "chatty"],
    expect: /flag --log-level: expected one of .*got 'chatty'/,
  },
  {
    name: "summary interval as boolean",
    file: `metrics_log_interval_secs = true`,
    expect: /'metrics_log_interval_secs' in .*expected a number, got true/,
  },
  {
    name: "summary interval flag not a number",
    args: ["--metrics-log-interval-secs", "often"],
    expect: /flag --metrics-log-interval-secs: expected a number, got 'often'/,
  },
];

/** Keeps temp files for one check and removes them afterwards. */
async function materialise(
  file: BadConfigCase["file"],
  dir: string,
  i: number,
): Promise<string | undefined> {
  if (file === undefined) return undefined;
  if (file === "directory") return dir;
  if (file === "missing") return `${dir}/missing-${i}.toml`;
  const path = `${dir}/case-${i}.toml`;
  if (typeof file === "string") await Deno.writeTextFile(path, file);
  else await Deno.writeFile(path, file);
  return path;
}

function argsOf(path: string | undefined, c: BadConfigCase): string[] {
  return [...(path !== undefined ? ["--config", path] : []), ...(c.args ?? [])];
}

/** Check one error line: a single line, the expected text, the file, no stack trace. */
function problemWith(c: BadConfigCase, line: string, path: string | undefined): string | undefined {
  if (line.includes("\n")) return `${c.name}: more than one line: ${JSON.stringify(line)}`;
  if (/\bat .*:\d+:\d+/.test(line)) return `${c.name}: stack trace: ${line}`;
  if (!c.expect.test(line)) return `${c.name}: ${JSON.stringify(line)} does not match ${c.expect}`;
  if (path !== undefined && c.file !== "directory" && !line.includes(path)) {
    return `${c.name}: does not name the file ${path}: ${line}`;
  }
  return undefined;
}

/**
 * Run every case through a config loader (in-process, fast) and list what went wrong: a case
 * that loads, throws something else than one {@linkcode ConfigError} line, or misses the file.
 *
 * @param load The service's loader, called with the command-line arguments.
 * @param cases The table.
 * @returns One line per problem; empty when every case was rejected properly.
 * @example
 * ```ts
 * const problems = await badConfigProblems((args) => loadConfig(ECHO_SCHEMA, { args }), GENERIC_BAD_CONFIGS);
 * ```
 */
export async function badConfigProblems(
  load: (args: string[]) => unknown,
  cases: readonly BadConfigCase[],
): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "bad-config-" });
  const problems: string[] = [];
  try {
    for (const [i, c] of cases.entries()) {
      const path = await materialise(c.file, dir, i);
      try {
        load(argsOf(path, c));
        problems.push(`${c.name}: accepted`);
      } catch (error) {
        if (!(error instanceof ConfigError)) {
          problems.push(`${c.name}: threw ${String(error)} instead of a ConfigError`);
          continue;
        }
        const problem = problemWith(c, error.message, path);
        if (problem !== undefined) problems.push(problem);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return problems;
}

/**
 * Run cases through the real program (`deno <run...> --config FILE flags`): each must exit 2
 * with nothing on stdout and one stderr line matching the case.
 *
 * @param command `deno` arguments before the case's own, e.g. `["run", "--allow-net", "echo/main.ts"]`.
 * @param cwd Working directory (the repository root).
 * @param cases The table (keep it short: one process per case).
 * @returns One line per problem; empty when every case behaved.
 * @example
 * ```ts
 * const problems = await badConfigExitProblems(["run", "--allow-read", "echo/main.ts"], REPO_ROOT, cases);
 * ```
 */
export async function badConfigExitProblems(
  command: readonly string[],
  cwd: string,
  cases: readonly BadConfigCase[],
): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "bad-config-" });
  try {
    const results = await Promise.all(cases.map(async (c, i) => {
      const path = await materialise(c.file, dir, i);
      const out = await runDeno([...command, ...argsOf(path, c)], cwd);
      const stderr = out.stderr.trimEnd();
      if (out.code !== CONFIG_EXIT_CODE) {
        return `${c.name}: exit code ${out.code} (stderr: ${stderr})`;
      }
      if (out.stdout.length > 0) return `${c.name}: wrote to stdout`;
      return problemWith(c, stderr, path);
    }));
    return results.filter((r): r is string => r !== undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Exit code of a service that rejected its configuration. */
const CONFIG_EXIT_CODE = 2;
/** Fewest cases a service's table must hold. */
const MIN_CASES = 20;

/** Options for {@linkcode badConfigTests}. */
export interface BadConfigTestsOptions {
  /** The service as named in the test names, e.g. "load balancer". */
  service: string;
  /** Its config loader, called with the command-line arguments. */
  load: (args: string[]) => unknown;
  /** The service's own cases; {@linkcode GENERIC_BAD_CONFIGS} are always added (at least 20 in all). */
  cases: readonly BadConfigCase[];
  /** Add {@linkcode SERVICE_BAD_CONFIGS} (the service reads `commonFields`). @default true */
  serviceKeys?: boolean;
  /** `deno` arguments that run the service, ending in its main module (from the repo root). */
  command: readonly string[];
  /** Names of the cases also run through the real program (one process each). */
  exitCases: readonly string[];
}

/**
 * Register a service's two bad-config tests: every case (the generic ones, the service-key
 * ones unless `serviceKeys` is false, and the service's own) through its loader in-process
 * (one line naming file, key and value), and the `exitCases` through the real program (exit
 * code 2, one stderr line, no stack trace).
 *
 * @param options The service's name, loader, table, command and subprocess cases.
 * @throws {Error} When `command` names no main module.
 * @example
 * ```ts
 * badConfigTests({
 *   service: "echo",
 *   load: (args) => loadConfig(ECHO_SCHEMA, { args }),
 *   cases: ECHO_CASES,
 *   command: ["run", "--allow-net", "--allow-read", "echo/main.ts"],
 *   exitCases: ["unknown key", "missing file"],
 * });
 * ```
 */
export function badConfigTests(options: BadConfigTestsOptions): void {
  const { service, load, command, exitCases } = options;
  const cases = [
    ...GENERIC_BAD_CONFIGS,
    ...(options.serviceKeys ?? true ? SERVICE_BAD_CONFIGS : []),
    ...options.cases,
  ];
  const program = command.findLast((arg) => arg.endsWith(".ts"));
  if (program === undefined) {
    throw new Error(
      `badConfigTests(): command names no .ts module, got ${JSON.stringify(command)}`,
    );
  }
  Deno.test(
    `${service} config: every malformed file and flag set gives one line naming file, key and value`,
    requires("read", "write"),
    async () => {
      assert.ok(cases.length >= MIN_CASES, `${cases.length} cases`);
      assert.deepEqual(await badConfigProblems(load, cases), []);
    },
  );
  Deno.test(
    `${program} exits 2 with one stderr line and no stack trace on bad input`,
    requires("read", "write", "run"),
    async () => {
      const chosen = cases.filter((c) => exitCases.includes(c.name));
      assert.equal(chosen.length, exitCases.length);
      assert.deepEqual(await badConfigExitProblems(command, REPO_ROOT, chosen), []);
    },
  );
}
