/**
 * Loading a configuration: read the TOML file named by `--config` (or a default path), apply
 * environment variables and flags (flags win), validate against the schema.
 *
 * Every service describes its keys once (type, default, range, flag); {@linkcode loadConfig}
 * either returns a typed object or throws one {@linkcode ConfigError} whose message is the
 * single line `main.ts` prints.
 *
 * @module
 */

import { parse as parseToml } from "smol-toml";
import { convert, fileOrigin, flagName, flagOrigin, validateTable } from "./_convert.ts";
import { ConfigError, EarlyExit, firstLine, showValue } from "./errors.ts";
import { versionLine } from "../service/version.ts";
import { parseFlags } from "./flags.ts";
import type { ConfigOf, Schema } from "./schema.ts";

/** Options for {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** Command-line arguments (e.g. `Deno.args`). @default [] */
  args?: readonly string[];
  /** Config file read when `--config` is not given; a missing default file is not an error. */
  defaultConfigPath?: string;
  /** Accept positional arguments (returned in `positionals`). @default false */
  allowPositionals?: boolean;
  /** Extra boolean flags outside the schema (e.g. `version`); returned in `flags`. @default [] */
  booleanFlags?: readonly string[];
  /** Program name in the `--version` line (`monkey-<name> 0.1.0 (...)`). @default "d-tcp" */
  name?: string;
  /**
   * Answer `--check` here: once the configuration validates, throw {@linkcode EarlyExit}
   * ("configuration ... is valid"). Callers with checks of their own after loading (cross-key
   * rules) pass false and read `check`. @default true
   */
  answerCheck?: boolean;
}

/** What {@linkcode loadConfig} returns. */
export interface LoadedConfig<S extends Schema> {
  /** The validated configuration. */
  config: ConfigOf<S>;
  /** The file that was read, if any. */
  configPath: string | undefined;
  /** Positional arguments. */
  positionals: string[];
  /** Extra boolean flags that were set. */
  flags: Record<string, boolean>;
  /** One-line notices (ignored legacy keys and the like) for the caller to print. */
  notices: string[];
  /** True when `--help` was given; `config` holds defaults then. */
  help: boolean;
  /** True when `--version` was given; `config` holds defaults then (no file is read). */
  version: boolean;
  /** True when `--check` was given: validate everything, start nothing. */
  check: boolean;
}

function readConfigText(path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ConfigError(`Cannot read config file ${path}: not found`);
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(`Cannot read config file ${path}: permission denied`);
    }
    if (error instanceof Deno.errors.IsADirectory) {
      throw new ConfigError(`Cannot read config file ${path}: it is a directory`);
    }
    throw new ConfigError(`Cannot read config file ${path}: ${firstLine(error)}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(`Cannot parse ${path}: not UTF-8 text (binary file?)`);
  }
}

/**
 * Parse TOML text into a table, turning syntax errors into one-line {@linkcode ConfigError}s.
 *
 * @param text TOML source.
 * @param label File name used in messages.
 * @returns The parsed table.
 * @throws {ConfigError} On a TOML syntax error (duplicate keys included).
 * @example
 * ```ts
 * const table = parseTomlText('listen_addr = "127.0.0.1:3000"', "proxy.toml");
 * ```
 */
export function parseTomlText(text: string, label: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    const line = error instanceof Error && "line" in error
      ? (error as { line: number }).line
      : undefined;
    const where = line !== undefined && "column" in (error as object)
      ? ` (line ${line}, column ${(error as { column: number }).column})`
      : "";
    let reason = firstLine(error).replace(/^Invalid TOML document: /, "");
    // Name the key and show the offending line: the message is all the user gets.
    const source = line !== undefined ? text.split(/\r?\n/)[line - 1]?.trim() : undefined;
    const key = source !== undefined ? /^([A-Za-z0-9_."'-]+)\s*=/.exec(source)?.[1] : undefined;
    if (key !== undefined && /redefine/.test(reason)) reason = `duplicate key '${key}'`;
    const got = source !== undefined && source !== "" ? `, got ${showValue(source)}` : "";
    throw new ConfigError(`Cannot parse ${label}: invalid TOML: ${reason}${where}${got}`);
  }
}

/**
 * Read the TOML file named by `--config` (or the default path), apply flags, validate.
 *
 * @param schema Keys, types, defaults and flags.
 * @param options Arguments and defaults.
 * `--version` throws {@linkcode EarlyExit} with the version line before anything is read;
 * `--check` throws it once the configuration validates (unless `answerCheck` is false), so a
 * program run through `runMain` answers both without code of its own.
 *
 * @returns The configuration and what else was on the command line.
 * @throws {ConfigError} On any bad file, key, value or flag.
 * @throws {EarlyExit} On `--version`, and on `--check` of a valid configuration.
 * @example
 * ```ts
 * const schema = { listen_addr: { type: "address", default: "127.0.0.1:3000", description: "Listen" } } as const;
 * const { config } = loadConfig(schema, { args: ["--listen-addr", "127.0.0.1:0"] });
 * ```
 */
export function loadConfig<S extends Schema>(
  schema: S,
  options: LoadConfigOptions = {},
): LoadedConfig<S> {
  const { values, positionals } = parseFlags(schema, options);
  const help = values["help"] === true;
  const version = values["version"] === true;
  const check = values["check"] === true;
  const skipFile = help || version;
  if (version && !help) throw new EarlyExit(versionLine(options.name ?? "d-tcp"));
  const flags: Record<string, boolean> = {};
  for (const name of options.booleanFlags ?? []) flags[name] = values[name] === true;

  const explicitPath = typeof values["config"] === "string" ? values["config"] : undefined;
  let configPath = explicitPath;
  if (configPath === undefined && options.defaultConfigPath !== undefined) {
    try {
      Deno.statSync(options.defaultConfigPath);
      configPath = options.defaultConfigPath;
    } catch {
      configPath = undefined;
    }
  }
  const notices: string[] = [];
  let raw: Record<string, unknown> = {};
  if (configPath !== undefined && !skipFile) {
    raw = parseTomlText(readConfigText(configPath), configPath);
  }
  const label = configPath ?? "defaults";
  const config = skipFile
    ? validateTable(schema, {}, fileOrigin(label), "")
    : validateTable(schema, raw, fileOrigin(label), "");

  for (const [key, spec] of Object.entries(schema)) {
    if (spec.type === "ignored" && Object.hasOwn(raw, key)) {
      notices.push(`${key} in ${label}: ${spec.notice}`);
    }
    const name = flagName(key, spec);
    const names = [name, ...(spec.aliases ?? [])].filter((n): n is string => n !== undefined);
    const given = names.flatMap((n) => {
      const v = values[n];
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    });
    if (given.length === 0) {
      if (spec.env !== undefined && !Object.hasOwn(raw, key)) {
        const fromEnv = readEnv(spec.env);
        if (fromEnv !== undefined) {
          config[key] = convert(
            spec,
            fromEnv,
            { where: () => `env ${spec.env}` },
            key,
            true,
          );
        }
      }
      continue;
    }
    const origin = flagOrigin(name ?? key);
    if (spec.type === "strings") {
      config[key] = convert(spec, given.map(String), origin, key, true);
    } else if (spec.type === "tables") {
      config[key] = given.map((text, i) => {
        const table = spec.fromFlag ? spec.fromFlag(String(text)) : { addr: String(text) };
        return validateTable(spec.fields, table, origin, `${key}[${i}].`, true);
      });
    } else {
      config[key] = convert(spec, given[given.length - 1], origin, key, true);
    }
  }
  if (check && !help && (options.answerCheck ?? true)) {
    throw new EarlyExit(`configuration ${configPath ?? "(defaults and flags)"} is valid`);
  }
  return {
    config: config as ConfigOf<S>,
    configPath,
    positionals,
    flags,
    notices,
    help,
    version,
    check,
  };
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw error;
  }
}
