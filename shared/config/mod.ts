/**
 * Configuration: the schema-driven TOML + flags loader, the fields every service shares, and
 * duration/size units.
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

export * from "./config.ts";
export * from "./fields.ts";
export * from "./units.ts";
