/**
 * Private: converting raw TOML or flag values to a field's type, with one-line errors naming
 * where the value came from.
 *
 * @module
 */

import { AddressError, parseAddress } from "../net/address.ts";
import { ConfigError, showValueOf } from "./errors.ts";
import type { FieldSpec, Schema } from "./schema.ts";
import { parseDuration, parseSize } from "./units.ts";

/** The flag a key is set by, or undefined when it has none. */
export function flagName(key: string, spec: FieldSpec): string | undefined {
  if (spec.flag === false) return undefined;
  return spec.flag ?? key.replaceAll("_", "-");
}

/** Where a value came from, for error messages. */
export interface Origin {
  /** `in proxy.toml` or `flag --listen`. */
  where(key: string): string;
}

/** Values read from a file (or the defaults). */
export function fileOrigin(file: string): Origin {
  return { where: (key) => `'${key}' in ${file}` };
}

/** Values given by a flag. */
export function flagOrigin(flag: string): Origin {
  return { where: () => `flag --${flag}` };
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
export function convert(
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
    case "tablemap": {
      if (!isPlainTable(raw)) fail(origin, key, `expected named tables ([${key}.NAME])`, raw);
      const out: Record<string, unknown> = {};
      for (const [name, item] of Object.entries(raw)) {
        const problem = spec.name?.(name);
        if (problem !== undefined) fail(origin, `${key}.${name}`, problem, name);
        if (!isPlainTable(item)) fail(origin, `${key}.${name}`, "expected a table", item);
        out[name] = validateTable(spec.fields, item, origin, `${key}.${name}.`);
      }
      return out;
    }
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
    case "tablemap":
      return {};
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
  if (spec.type === "tablemap") return false;
  if (spec.type === "ignored") return false;
  return spec.default === undefined && spec.optional !== true;
}

/** Validate a table against a schema: unknown keys, missing required keys, bad values. */
export function validateTable(
  schema: Schema,
  raw: Record<string, unknown>,
  origin: Origin,
  prefix: string,
  requireKeys = false,
): Record<string, unknown> {
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
