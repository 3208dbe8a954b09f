/**
 * What every `main.ts` shares: the service main (config, signals, summary line), errors
 * with their exit codes, and the logger.
 *
 * @example
 * ```ts
 * import { Logger } from "@monkey/shared/service";
 * new Logger({ name: "demo" }).info("hello");
 * ```
 *
 * @module
 */

export * from "./main.ts";
export * from "./errors.ts";
export * from "./logger.ts";
export * from "./pid_file.ts";
export * from "./version.ts";
export * from "./v8_flags.ts";
