/**
 * The product version every service prints for `--version`.
 *
 * @module
 */

import meta from "../deno.json" with { type: "json" };

/** The version of Monkey D. TCP (the `@monkey/shared` package version). */
export const VERSION: string = meta.version;

/**
 * The `--version` line: service, version, Deno, V8, TypeScript and platform.
 *
 * @param service The service name, e.g. `proxy`.
 * @returns One line, e.g. `monkey-proxy 0.1.0 (deno 2.9.6, v8 14.0, typescript 5.9, linux x86_64)`.
 * @example
 * ```ts
 * console.log(versionLine("proxy"));
 * ```
 */
export function versionLine(service: string): string {
  const { deno, v8, typescript } = Deno.version;
  return `monkey-${service} ${VERSION} (deno ${deno}, v8 ${v8}, typescript ${typescript}, ${Deno.build.os} ${Deno.build.arch})`;
}
