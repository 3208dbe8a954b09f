/**
 * Validating a parsed table against a schema, and filling a partial configuration with the
 * schema's defaults.
 *
 * @module
 */

import { fileOrigin, validateTable } from "./_convert.ts";
import type { ConfigOf, Schema } from "./schema.ts";

/**
 * Validate an already parsed table against a schema (no flags, no file).
 *
 * @param schema The schema.
 * @param raw The table, e.g. from {@linkcode parseTomlText}.
 * @param label File name used in messages.
 * @returns The typed configuration.
 * @throws {ConfigError} On unknown keys or bad values.
 * @example
 * ```ts
 * const schema = { port: { type: "integer", default: 1, description: "a port" } } as const;
 * const config = validateConfig(schema, { port: 2 }, "demo.toml");
 * ```
 */
export function validateConfig<S extends Schema>(
  schema: S,
  raw: Record<string, unknown>,
  label: string,
): ConfigOf<S> {
  return validateTable(schema, raw, fileOrigin(label), "") as ConfigOf<S>;
}

/**
 * Fill a partial configuration (as a library caller passes it) with the schema's defaults.
 * Keys set to `undefined` take their default too.
 *
 * @param schema The schema.
 * @param partial Keys the caller set.
 * @returns A complete configuration.
 * @example
 * ```ts
 * const schema = { port: { type: "integer", default: 1, description: "a port" } } as const;
 * const config = withDefaults(schema, {}); // { port: 1 }
 * ```
 */
export function withDefaults<S extends Schema>(
  schema: S,
  partial: Partial<ConfigOf<S>>,
): ConfigOf<S> {
  const set = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...validateConfig(schema, {}, "defaults"), ...set } as ConfigOf<S>;
}
