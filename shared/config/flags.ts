/**
 * Command-line flags: the `parseArgs` options a schema implies, and the `--help` text.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { flagName } from "./_convert.ts";
import { nearestName } from "./_suggest.ts";
import { ConfigError, firstLine, showValue } from "./errors.ts";
import type { Schema } from "./schema.ts";

/** Options for {@linkcode parseFlags}. */
export interface ParseFlagsOptions {
  /** Command-line arguments (e.g. `Deno.args`). @default [] */
  args?: readonly string[];
  /** Accept positional arguments. @default false */
  allowPositionals?: boolean;
  /** Extra boolean flags outside the schema (e.g. `version`). @default [] */
  booleanFlags?: readonly string[];
}

/** What {@linkcode parseFlags} returns. */
export interface ParsedFlags {
  /** Flag values by flag name (strings, booleans, or arrays for repeated flags). */
  values: Record<string, unknown>;
  /** Positional arguments. */
  positionals: string[];
}

type ParseArgsOptions = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

/**
 * Parse command-line flags against a schema: every key is a flag (`listen_addr` is
 * `--listen-addr`), plus `--config`, `--help`, `--version` and `--check`; `--bool=false` is
 * accepted too. An unknown flag names the nearest known one and `--help`.
 *
 * @param schema The schema.
 * @param options Arguments, positionals, extra boolean flags.
 * @returns Flag values by flag name, and positional arguments.
 * @throws {ConfigError} On an unknown flag ("unknown flag --listn: did you mean --listen? See
 * --help") or a missing or ambiguous value.
 * @example
 * ```ts
 * const schema = { port: { type: "integer", default: 1, description: "a port" } } as const;
 * const { values } = parseFlags(schema, { args: ["--port", "2"] });
 * ```
 */
export function parseFlags(schema: Schema, options: ParseFlagsOptions = {}): ParsedFlags {
  const spec: ParseArgsOptions = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
    check: { type: "boolean" },
  };
  for (const name of options.booleanFlags ?? []) spec[name] = { type: "boolean" };
  for (const [key, field] of Object.entries(schema)) {
    const name = flagName(key, field);
    if (name === undefined || field.type === "table" || field.type === "ignored") continue;
    if (field.type === "tablemap") continue;
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
    const unknown = /^Unknown option '(-{1,2})([^']*)'/.exec(message);
    if (unknown !== null) throw new ConfigError(unknownFlagMessage(unknown[1]!, unknown[2]!, spec));
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

/** "unknown flag --listn: did you mean --listen? See --help" (the suggestion only when close). */
function unknownFlagMessage(dashes: string, typed: string, spec: ParseArgsOptions): string {
  const name = typed.split("=")[0]!;
  const known = Object.keys(spec).flatMap((n) =>
    spec[n]!.type === "boolean" ? [n, `no-${n}`] : [n]
  );
  const nearest = dashes === "--" ? nearestName(name, known) : undefined;
  const hint = nearest !== undefined ? `: did you mean --${nearest}? See --help` : "; see --help";
  return `Cannot parse command line: unknown flag ${dashes}${name}${hint}`;
}

/**
 * Usage text generated from a schema, for `--help`.
 *
 * @param usage First line, e.g. `deno task proxy [flags]`.
 * @param schema The schema.
 * @returns Multi-line help text.
 * @example
 * ```ts
 * const schema = { port: { type: "integer", default: 1, description: "a port" } } as const;
 * console.log(helpText("demo [flags]", schema));
 * ```
 */
export function helpText(usage: string, schema: Schema): string {
  const lines = [
    `Usage: ${usage}`,
    "",
    "Flags (each also a TOML key; flags win over the file):",
    "  --config PATH",
    "  --check                        Validate the configuration and exit (0 valid, 2 not); binds nothing",
    "  --version                      Print the version and exit",
    "  -h, --help                     This text",
  ];
  for (const [key, spec] of Object.entries(schema)) {
    const name = flagName(key, spec);
    if (name === undefined || spec.type === "table" || spec.type === "ignored") continue;
    if (spec.type === "tablemap") continue;
    const names = [`--${name}`, ...(spec.aliases ?? []).map((a) => `--${a}`)];
    if (spec.short) names.unshift(`-${spec.short}`);
    const def = "default" in spec && spec.default !== undefined
      ? ` (default ${JSON.stringify(spec.default)})`
      : "";
    lines.push(`  ${names.join(", ").padEnd(30)} ${spec.description}${def}`);
  }
  return lines.join("\n");
}
