/**
 * TOML configuration with CLI flag overrides, validated against a small schema.
 *
 * Every service describes its keys once (type, default, range, flag); {@linkcode loadConfig}
 * reads the TOML file, applies flags (flags win), and either returns a typed object or throws
 * one {@linkcode ConfigError} whose message is the single line `main.ts` prints.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import { AddressError, parseAddress } from "../net/address.ts";
import { parseDuration, parseSize } from "./units.ts";

/** A configuration problem: bad file, key, value or flag. `main.ts` prints it and exits 2. */
export class ConfigError extends Error {
  /**
   * @param message One line naming the file or flag, the key and the bad value.
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

interface FieldBase {
  /** One-line description, used by `--help`. */
  description: string;
  /** Flag name without dashes; defaults to the key with `_` turned to `-`. `false`: no flag. */
  flag?: string | false;
  /** Extra long flag names (e.g. `listen` for `listen_addr`). */
  aliases?: readonly string[];
  /** A one-letter short flag. */
  short?: string;
  /** Environment variable used when neither file nor flag sets the key. */
  env?: string;
}

/** A string value. */
export interface StringField extends FieldBase {
  type: "string";
  default?: string;
  optional?: boolean;
}
/** An integer (or a float when `type` is "number") with an optional range. */
export interface NumberField extends FieldBase {
  type: "integer" | "number";
  default?: number;
  optional?: boolean;
  min?: number;
  max?: number;
}
/** A duration in seconds: a number, or text such as `500ms`, `10s`, `2m`. */
export interface DurationField extends FieldBase {
  type: "duration";
  default?: number;
  optional?: boolean;
  min?: number;
  max?: number;
}
/** A byte count: a number, or text such as `64KiB`, `1MB`. */
export interface SizeField extends FieldBase {
  type: "size";
  default?: number;
  optional?: boolean;
  min?: number;
  max?: number;
}
/** A boolean. */
export interface BooleanField extends FieldBase {
  type: "boolean";
  default?: boolean;
  optional?: boolean;
}
/** A `host:port` address; `allowOff` also accepts the word `off`. */
export interface AddressField extends FieldBase {
  type: "address";
  default?: string;
  optional?: boolean;
  allowOff?: boolean;
}
/** One of a fixed set of words. */
export interface EnumField<V extends string = string> extends FieldBase {
  type: "enum";
  values: readonly V[];
  default?: V;
  optional?: boolean;
}
/** An array of strings; its flag may be repeated. `item` validates each element. */
export interface StringsField extends FieldBase {
  type: "strings";
  default?: readonly string[];
  item?: (value: string) => string | undefined;
}
/** A sub-table (`[health_check]`). */
export interface TableField<S extends Schema = Schema> extends FieldBase {
  type: "table";
  fields: S;
}
/** An array of tables (`[[backends]]`); `fromFlag` turns one repeated flag value into a table. */
export interface TablesField<S extends Schema = Schema> extends FieldBase {
  type: "tables";
  fields: S;
  fromFlag?: (value: string) => Record<string, unknown>;
}
/** A key still accepted for compatibility but ignored; a one-line notice is reported. */
export interface IgnoredField extends FieldBase {
  type: "ignored";
  notice: string;
}

/** One key's specification. */
export type FieldSpec =
  | StringField
  | NumberField
  | DurationField
  | SizeField
  | BooleanField
  | AddressField
  | EnumField
  | StringsField
  | TableField
  | TablesField
  | IgnoredField;

/** A configuration schema: key name to specification. */
export type Schema = Readonly<Record<string, FieldSpec>>;

/**
 * `T`, or `T | undefined` when the field is optional or has no default.
 *
 * @internal
 */
type Optional<F, T> = F extends { optional: true } ? T | undefined
  : F extends { default: unknown } ? T
  : T | undefined;

/** The value type of one field. */
export type ValueOf<F> = F extends { type: "integer" | "number" | "duration" | "size" }
  ? Optional<F, number>
  : F extends { type: "boolean" } ? Optional<F, boolean>
  : F extends { type: "enum"; values: readonly (infer V)[] } ? Optional<F, V>
  : F extends { type: "strings" } ? string[]
  : F extends { type: "table"; fields: infer S } ? ConfigOf<S>
  : F extends { type: "tables"; fields: infer S } ? ConfigOf<S>[]
  : F extends { type: "ignored" } ? undefined
  : Optional<F, string>;

/** The typed configuration object a schema describes. */
export type ConfigOf<S> = { -readonly [K in keyof S]: ValueOf<S[K]> };

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
}

const MAX_SHOWN = 60;

/**
 * Show a rejected value in an error message: strings in single quotes, others as JSON,
 * cut to a readable length and stripped of control characters.
 *
 * @param value Any value.
 * @returns A short printable representation.
 */
export function showValue(value: unknown): string {
  let text = typeof value === "string" ? `'${value}'` : safeJson(value);
  // deno-lint-ignore no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, "?");
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}

function safeJson(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function flagName(key: string, spec: FieldSpec): string | undefined {
  if (spec.flag === false) return undefined;
  return spec.flag ?? key.replaceAll("_", "-");
}

/** Where a value came from, for error messages. */
interface Origin {
  /** `in proxy.toml` or `flag --listen`. */
  where(key: string): string;
}

function fileOrigin(file: string): Origin {
  return { where: (key) => `'${key}' in ${file}` };
}

function flagOrigin(flag: string): Origin {
  return { where: () => `flag --${flag}` };
}

/** Keys whose values are never echoed in messages (tokens, passwords, typos of them too). */
const SECRET_KEY = /(tok|secret|pass|pwd|api_?key|auth)[^.]*$/i;

/**
 * Show a value in an error message unless its key names a secret.
 *
 * @param key The key, e.g. `admin_token` or `backends[0].addr`.
 * @param value The rejected value.
 * @returns `'<redacted>'` for secrets, else {@linkcode showValue}.
 */
export function showValueOf(key: string, value: unknown): string {
  return SECRET_KEY.test(key) ? "'<redacted>'" : showValue(value);
}

function fail(origin: Origin, key: string, reason: string, value: unknown): never {
  throw new ConfigError(
    `Cannot parse ${origin.where(key)}: ${reason}, got ${showValueOf(key, value)}`,
  );
}

function checkRange(
  spec: { min?: number; max?: number },
  origin: Origin,
  key: string,
  n: number,
  raw: unknown,
): number {
  if (spec.min !== undefined && n < spec.min) {
    fail(
      origin,
      key,
      `expected a value >= ${spec.min}${spec.max !== undefined ? ` and <= ${spec.max}` : ""}`,
      raw,
    );
  }
  if (spec.max !== undefined && n > spec.max) {
    fail(
      origin,
      key,
      `expected a value <= ${spec.max}${spec.min !== undefined ? ` and >= ${spec.min}` : ""}`,
      raw,
    );
  }
  return n;
}

/**
 * Convert one raw value (from TOML, or a flag string when `fromText`) to the field's type.
 */
function convert(
  spec: FieldSpec,
  raw: unknown,
  origin: Origin,
  key: string,
  fromText: boolean,
): unknown {
  switch (spec.type) {
    case "string":
      if (typeof raw !== "string") fail(origin, key, "expected a string", raw);
      return raw;
    case "integer":
    case "number": {
      let n: number;
      if (typeof raw === "number") n = raw;
      else if (typeof raw === "bigint") n = Number(raw);
      else if (fromText && typeof raw === "string" && /^-?\d+(\.\d+)?$/.test(raw.trim())) {
        n = Number(raw);
      } else {fail(
          origin,
          key,
          spec.type === "integer" ? "expected an integer" : "expected a number",
          raw,
        );}
      if (!Number.isFinite(n)) fail(origin, key, "expected a finite number", raw);
      if (spec.type === "integer" && !Number.isInteger(n)) {
        fail(origin, key, "expected an integer", raw);
      }
      return checkRange(spec, origin, key, n, raw);
    }
    case "duration":
    case "size": {
      let n: number | undefined;
      if (typeof raw === "number" && Number.isFinite(raw)) n = raw;
      else if (typeof raw === "string") {
        n = spec.type === "duration" ? parseDuration(raw) : parseSize(raw);
      }
      const what = spec.type === "duration"
        ? "expected seconds, or a duration like 500ms, 10s, 2m"
        : "expected bytes, or a size like 64, 1KiB, 64KiB, 1MiB";
      if (n === undefined) fail(origin, key, what, raw);
      if (spec.type === "size" && !Number.isInteger(n)) {
        fail(origin, key, "expected a whole number of bytes", raw);
      }
      return checkRange(spec, origin, key, n, raw);
    }
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (fromText && (raw === "true" || raw === "false")) return raw === "true";
      return fail(origin, key, "expected true or false", raw);
    case "address": {
      if (typeof raw !== "string") fail(origin, key, 'expected a "host:port" string', raw);
      if (spec.allowOff && raw === "off") return raw;
      try {
        parseAddress(raw);
      } catch (error) {
        if (!(error instanceof AddressError)) throw error;
        fail(
          origin,
          key,
          error.message.replace(/, got .*$/, "") + (spec.allowOff ? " or 'off'" : ""),
          raw,
        );
      }
      return raw;
    }
    case "enum":
      if (typeof raw !== "string" || !spec.values.includes(raw)) {
        fail(origin, key, `expected one of ${spec.values.map((v) => `'${v}'`).join(", ")}`, raw);
      }
      return raw;
    case "strings": {
      const list = Array.isArray(raw) ? raw : fromText ? [raw] : undefined;
      if (list === undefined) fail(origin, key, "expected an array of strings", raw);
      return list.map((item, i) => {
        if (typeof item !== "string") fail(origin, `${key}[${i}]`, "expected a string", item);
        const problem = spec.item?.(item);
        if (problem !== undefined) fail(origin, `${key}[${i}]`, problem, item);
        return item;
      });
    }
    case "table":
      if (!isPlainTable(raw)) fail(origin, key, "expected a table", raw);
      return validateTable(spec.fields, raw, origin, `${key}.`);
    case "tables":
      if (!Array.isArray(raw)) {
        fail(origin, key, "expected an array of tables ([[" + key + "]])", raw);
      }
      return raw.map((item, i) => {
        if (!isPlainTable(item)) fail(origin, `${key}[${i}]`, "expected a table", item);
        return validateTable(spec.fields, item, origin, `${key}[${i}].`, true);
      });
    case "ignored":
      return undefined;
  }
}

function isPlainTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function defaultOf(spec: FieldSpec): unknown {
  switch (spec.type) {
    case "table":
      return validateTable(spec.fields, {}, fileOrigin("defaults"), "");
    case "tables":
      return [];
    case "strings":
      return [...(spec.default ?? [])];
    case "ignored":
      return undefined;
    default:
      return spec.default;
  }
}

function isRequired(spec: FieldSpec): boolean {
  if (spec.type === "table" || spec.type === "tables" || spec.type === "strings") return false;
  if (spec.type === "ignored") return false;
  return spec.default === undefined && spec.optional !== true;
}

function validateTable(
  schema: Schema,
  raw: Record<string, unknown>,
  origin: Origin,
  prefix: string,
  requireKeys = false,
) {
  for (const [key, value] of Object.entries(raw)) {
    if (!Object.hasOwn(schema, key)) {
      const known = Object.keys(schema).join(", ");
      throw new ConfigError(
        `Unknown key ${origin.where(prefix + key)}, got ${
          showValueOf(key, value)
        } (known keys: ${known})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    if (!Object.hasOwn(raw, key) && requireKeys && isRequired(spec)) {
      throw new ConfigError(`Missing key ${origin.where(prefix + key)} (${spec.description})`);
    }
    out[key] = Object.hasOwn(raw, key)
      ? convert(spec, raw[key], origin, prefix + key, false)
      : defaultOf(spec);
  }
  return out;
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

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.trim();
}

/**
 * Parse TOML text into a table, turning syntax errors into one-line {@linkcode ConfigError}s.
 *
 * @param text TOML source.
 * @param label File name used in messages.
 * @returns The parsed table.
 * @throws {ConfigError} On a TOML syntax error (duplicate keys included).
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
 * Validate an already parsed table against a schema (no flags, no file).
 *
 * @param schema The schema.
 * @param raw The table, e.g. from {@linkcode parseTomlText}.
 * @param label File name used in messages.
 * @returns The typed configuration.
 * @throws {ConfigError} On unknown keys or bad values.
 */
export function validateConfig<S extends Schema>(
  schema: S,
  raw: Record<string, unknown>,
  label: string,
): ConfigOf<S> {
  return validateTable(schema, raw, fileOrigin(label), "") as ConfigOf<S>;
}

/**
 * Read the TOML file named by `--config` (or the default path), apply flags, validate.
 *
 * @param schema Keys, types, defaults and flags.
 * @param options Arguments and defaults.
 * @returns The configuration and what else was on the command line.
 * @throws {ConfigError} On any bad file, key, value or flag.
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
  if (configPath !== undefined && !help) {
    raw = parseTomlText(readConfigText(configPath), configPath);
  }
  const label = configPath ?? "defaults";
  const config = help
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
  return { config: config as ConfigOf<S>, configPath, positionals, flags, notices, help };
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

type ParseArgsOptions = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

function parseFlags(schema: Schema, options: LoadConfigOptions) {
  const spec: ParseArgsOptions = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const name of options.booleanFlags ?? []) spec[name] = { type: "boolean" };
  for (const [key, field] of Object.entries(schema)) {
    const name = flagName(key, field);
    if (name === undefined || field.type === "table" || field.type === "ignored") continue;
    const multiple = field.type === "strings" || field.type === "tables";
    // Booleans take an explicit value too (--flag, --flag=false), so they are parsed as strings
    // only when written with '='; parseArgs handles the bare form.
    const type = field.type === "boolean" ? "boolean" : "string";
    for (const n of [name, ...(field.aliases ?? [])]) {
      spec[n] = multiple ? { type, multiple: true } : { type };
    }
    if (field.short !== undefined) spec[name] = { ...spec[name]!, short: field.short };
  }
  const args = [...(options.args ?? [])].map((arg) => {
    // Allow --bool=false / --bool=true by turning them into --bool / --no-bool style values.
    const match = /^--([\w-]+)=(true|false)$/.exec(arg);
    if (match && spec[match[1]!]?.type === "boolean") {
      return match[2] === "true" ? `--${match[1]}` : `--no-${match[1]}`;
    }
    return arg;
  });
  try {
    const { values, positionals } = parseArgs({
      args,
      options: spec,
      strict: true,
      allowPositionals: options.allowPositionals ?? false,
      allowNegative: true,
    });
    return { values: values as Record<string, unknown>, positionals };
  } catch (error) {
    // "Option '-c' argument is ambiguous": a value starting with '-'. Name the flag and value.
    const message = error instanceof Error ? error.message : String(error);
    const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(message);
    const long = /use '(--[\w-]+)=-XYZ'/.exec(message)?.[1];
    if (ambiguous !== null && long !== undefined) {
      const value = args[args.indexOf(ambiguous[1]!) + 1] ?? "";
      throw new ConfigError(
        `Cannot parse flag ${long}: a value starting with '-' must be written ${long}=${value}, ` +
          `got ${showValue(value)}`,
      );
    }
    throw new ConfigError(
      `Cannot parse command line: ${firstLine(error).replace(/\. To specify.*$/, "")}`,
    );
  }
}

/**
 * Usage text generated from a schema, for `--help`.
 *
 * @param usage First line, e.g. `deno task proxy [flags]`.
 * @param schema The schema.
 * @returns Multi-line help text.
 */
export function helpText(usage: string, schema: Schema): string {
  const lines = [
    `Usage: ${usage}`,
    "",
    "Flags (each also a TOML key; flags win over the file):",
    "  --config PATH",
  ];
  for (const [key, spec] of Object.entries(schema)) {
    const name = flagName(key, spec);
    if (name === undefined || spec.type === "table" || spec.type === "ignored") continue;
    const names = [`--${name}`, ...(spec.aliases ?? []).map((a) => `--${a}`)];
    if (spec.short) names.unshift(`-${spec.short}`);
    const def = "default" in spec && spec.default !== undefined
      ? ` (default ${JSON.stringify(spec.default)})`
      : "";
    lines.push(`  ${names.join(", ").padEnd(30)} ${spec.description}${def}`);
  }
  return lines.join("\n");
}

/**
 * Fill a partial configuration (as a library caller passes it) with the schema's defaults.
 * Keys set to `undefined` take their default too.
 *
 * @param schema The schema.
 * @param partial Keys the caller set.
 * @returns A complete configuration.
 */
export function withDefaults<S extends Schema>(
  schema: S,
  partial: Partial<ConfigOf<S>>,
): ConfigOf<S> {
  const set = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...validateConfig(schema, {}, "defaults"), ...set } as ConfigOf<S>;
}
