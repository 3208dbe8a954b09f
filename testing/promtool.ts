/**
 * `promtool check metrics` in tests: whether it can run here (apt package `prometheus`), a
 * test name that carries the reason when it cannot, and the check of one exposition text.
 *
 * @module
 */

let found: boolean | undefined;

/**
 * Why promtool tests cannot run here, or undefined when they can.
 *
 * @returns A short reason (no `--allow-run`, or no `promtool` on PATH).
 * @example
 * ```ts
 * Deno.test({ name: promtoolTestName("x"), ignore: promtoolSkipReason() !== undefined, fn() {} });
 * ```
 */
export function promtoolSkipReason(): string | undefined {
  if (Deno.permissions.querySync({ name: "run", command: "promtool" }).state !== "granted") {
    return "needs --allow-run";
  }
  found ??= (() => {
    try {
      return new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  })();
  return found ? undefined : "promtool not found (apt-get install -y prometheus)";
}

/**
 * A promtool test's name, with the reason it is skipped when it is.
 *
 * @param name The test's sentence.
 * @returns The name, e.g. `... (skipped: promtool not found (apt-get install -y prometheus))`.
 * @example
 * ```ts
 * promtoolTestName("/metrics passes promtool check metrics");
 * ```
 */
export function promtoolTestName(name: string): string {
  const reason = promtoolSkipReason();
  return reason === undefined ? name : `${name} (skipped: ${reason})`;
}

/**
 * Run `promtool check metrics` on a Prometheus text exposition (stdin), like
 * `curl -s …/metrics | promtool check metrics`.
 *
 * @param text The exposition.
 * @returns What promtool printed (errors and lint warnings) with its exit code; `""` when the
 *   text is clean.
 * @throws {Deno.errors.NotFound} When promtool is not installed.
 * @example
 * ```ts
 * assert.equal(await promtoolCheck(await (await fetch(url)).text()), "");
 * ```
 */
export async function promtoolCheck(text: string): Promise<string> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  const printed = (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim();
  return out.code === 0 && printed === "" ? "" : `exit ${out.code}: ${printed}`;
}
