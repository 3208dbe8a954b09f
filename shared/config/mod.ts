/**
 * Configuration: the schema-driven TOML + flags loader, the fields every service shares, and
 * duration/size units.
 *
 * - `schema.ts`: field types ({@linkcode FieldSpec}, {@linkcode Schema}, {@linkcode ConfigOf}).
 * - `validate.ts`: {@linkcode validateConfig}, {@linkcode withDefaults}.
 * - `load.ts`: {@linkcode loadConfig} (TOML file, env, flags), {@linkcode parseTomlText}.
 * - `flags.ts`: {@linkcode parseFlags}, {@linkcode helpText}.
 * - `errors.ts`: {@linkcode ConfigError} and how rejected values are shown.
 *
 * @example
 * ```ts
 * import { loadConfig } from "@monkey/shared/config";
 * const SCHEMA = { port: { type: "integer", default: 1, description: "a port" } } as const;
 * const { config } = loadConfig(SCHEMA, { args: ["--port", "2"] });
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./fields.ts";
export * from "./flags.ts";
export * from "./load.ts";
export * from "./schema.ts";
export * from "./units.ts";
export * from "./validate.ts";
