/**
 * Running one test under both I/O engines: the same test body, once per engine, with the
 * engine in its name. The epoll variant is ignored (and says why in its name) where the
 * engine cannot run: not Linux, or no `--allow-ffi`.
 *
 * @module
 */

import { type EngineName, epollAvailable } from "@monkey/shared";

/** One engine a test runs under. */
export interface EngineCase {
  /** The engine, for a service's `engine` key. */
  readonly engine: EngineName;
  /** What the test name carries, e.g. "engine epoll". */
  readonly label: string;
  /** True where this engine cannot run here. */
  readonly ignore: boolean;
}

const EPOLL_OK = epollAvailable();

/** Both engines: `deno` always runs; `epoll` where FFI is granted on Linux. */
export const ENGINE_CASES: readonly EngineCase[] = [
  { engine: "deno", label: "engine deno", ignore: false },
  {
    engine: "epoll",
    label: EPOLL_OK ? "engine epoll" : "engine epoll; ignored without --allow-ffi on Linux",
    ignore: !EPOLL_OK,
  },
];

/**
 * Register a test once per engine.
 *
 * @param name The test's sentence; the engine is appended in brackets.
 * @param fn The body, given the engine case.
 * @param options Extra ignore condition (e.g. from `requires()`).
 * @example
 * ```ts
 * testEachEngine("the proxy relays bytes", async ({ engine }) => {
 *   const proxy = startProxy({ engine, listen_addr: "127.0.0.1:0", metrics_addr: "off" });
 *   await proxy.shutdown(0);
 * });
 * ```
 */
export function testEachEngine(
  name: string,
  fn: (engine: EngineCase, t: Deno.TestContext) => Promise<void> | void,
  options: { ignore?: boolean } = {},
): void {
  for (const engine of ENGINE_CASES) {
    Deno.test({
      name: `${name} (${engine.label})`,
      ignore: engine.ignore || (options.ignore ?? false),
      fn: (t) => fn(engine, t),
    });
  }
}
