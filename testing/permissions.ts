/**
 * Tests that need more than `--allow-net` declare it, so `deno test --allow-net` still passes.
 *
 * @module
 */

/** A permission a test may need beyond `--allow-net`. */
export type TestPermission = "read" | "write" | "run" | "env" | "sys";

/** Permission sets already explained in this test module (one note each). */
const explained = new Set<string>();

/**
 * Test options that ignore a test when a permission it needs was not granted, so that
 * `deno test --allow-net` alone passes and reports such tests as ignored (`deno task test`
 * grants them all). The first ignored test of each permission set in a test file prints one
 * line saying why ("note: tests needing --allow-run --allow-read are ignored here: not
 * granted; `deno task test` grants them"), so the ignored count is never unexplained.
 *
 * @param names Permissions the test needs.
 * @returns Options for `Deno.test(name, options, fn)`.
 * @example
 * ```ts
 * Deno.test("CLI exits 2 on a bad flag", requires("run", "read"), async () => {});
 * ```
 */
export function requires(...names: TestPermission[]): { ignore: boolean } {
  const missing = names.filter((name) => Deno.permissions.querySync({ name }).state !== "granted");
  if (missing.length > 0) {
    const flags = missing.map((name) => `--allow-${name}`).join(" ");
    if (!explained.has(flags)) {
      explained.add(flags);
      console.log(
        `note: tests needing ${flags} are ignored here: not granted; \`deno task test\` grants them`,
      );
    }
  }
  return { ignore: missing.length > 0 };
}
