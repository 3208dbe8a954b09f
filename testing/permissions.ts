/**
 * Tests that need more than `--allow-net` declare it, so `deno test --allow-net` still passes.
 *
 * @module
 */

/** A permission a test may need beyond `--allow-net`. */
export type TestPermission = "read" | "write" | "run" | "env" | "sys";

/**
 * Test options that ignore a test when a permission it needs was not granted, so that
 * `deno test --allow-net` alone passes and reports such tests as ignored (`deno task test`
 * grants them all).
 *
 * @param names Permissions the test needs.
 * @returns Options for `Deno.test(name, options, fn)`.
 * @example
 * ```ts
 * Deno.test("CLI exits 2 on a bad flag", requires("run", "read"), async () => {});
 * ```
 */
export function requires(...names: TestPermission[]): { ignore: boolean } {
  return {
    ignore: !names.every((name) => Deno.permissions.querySync({ name }).state === "granted"),
  };
}
