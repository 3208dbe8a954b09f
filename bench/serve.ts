/**
 * One of our services in a process of its own, started through its package (never by a
 * sibling's file path): `deno run … bench/serve.ts SERVICE [flags]`, where SERVICE is `proxy`,
 * `lb`, `echo` or `load-test` and the flags are the service's own (`--listen 127.0.0.1:0`,
 * `--relay streams`, `--workers 2`, …). It behaves like the service's `main.ts`: the same
 * banner with the bound address (and the engine it runs), the same exit codes, SIGTERM drains.
 * `tls-echo` (no flags) is the test TLS echo server with the checked-in `localhost` certificate,
 * the backend of the SNI passthrough rows.
 *
 * The bench runs the load tester in its own process and each service in another, so the
 * client and the server under test never share an event loop.
 *
 * @module
 */

import { startEcho } from "@monkey/echo";
import { ECHO_SCHEMA } from "@monkey/echo";
import { LB_SCHEMA, loadLbConfig, startLbCluster, startLoadBalancer } from "@monkey/load-balancer";
import { loadTestCli } from "@monkey/load-tester";
import { PROXY_SCHEMA, startProxy, startProxyCluster } from "@monkey/proxy";
import * as shared from "@monkey/shared";
import { startTlsEcho } from "@monkey/testing";

/** The services `serve.ts` can run; `tls-echo` is the test TLS echo server (`localhost`). */
export const SERVICES = ["proxy", "lb", "echo", "tls-echo", "load-test"] as const;
/** One of {@linkcode SERVICES}. */
export type ServiceName = typeof SERVICES[number];

/** Banners the bench waits for; the first group is the bound address. */
export const BANNERS: Record<Exclude<ServiceName, "load-test">, RegExp> = {
  proxy: /proxying (\S+) ->/,
  lb: /balancing (\S+) ->/,
  echo: /echoing on (\S+)/,
  "tls-echo": /echoing on (\S+)/,
};

/**
 * The engine a service really runs, as its own startup line names it (`deno (TLS needs it)`
 * when TLS forces it); a cluster of workers names none, its `engine` key then.
 */
function engineOf(handle: object, choice: shared.EngineChoice): string {
  const { engine, engineLabel } = handle as { engine?: unknown; engineLabel?: unknown };
  const label = engineLabel ?? engine;
  return typeof label === "string" ? label : shared.resolveEngine(choice).name;
}

/**
 * Run one service until it is signalled (or, for `load-test`, until the run ends).
 *
 * @param args `SERVICE` followed by the service's flags.
 * @returns Resolves once the service is up (or the load test is done).
 * @throws {ConfigError} On an unknown service or bad flags (exit 2).
 * @example
 * ```ts
 * await serve(["echo", "--listen", "127.0.0.1:0", "--metrics", "off"]);
 * ```
 */
export async function serve(args: readonly string[]): Promise<void> {
  const [service, ...all] = args;
  // `--and`: a second instance in the same process (flags after it), for A/B pairs.
  const and = all.indexOf("--and");
  const flags = and < 0 ? all : all.slice(0, and);
  const second = and < 0 ? undefined : all.slice(and + 1);
  switch (service) {
    case "proxy":
      return await serveTwins("proxy", PROXY_SCHEMA, flags, second, {
        load: (args) => shared.loadConfig(PROXY_SCHEMA, { args }).config,
        start: (config, logger) =>
          config.workers > 1
            ? startProxyCluster(config, { logger })
            : startProxy(config, { logger }),
        banner: (proxy, config) =>
          `proxying ${proxy.addr} -> ${config.target_addr} (engine: ${
            engineOf(proxy, config.engine)
          })`,
      });
    case "lb":
      loadLbConfig(flags); // cross-key checks, as the load balancer's main does
      return await serveTwins("lb", LB_SCHEMA, flags, second, {
        load: (args) => loadLbConfig(args).config,
        start: async (config, logger) =>
          config.workers > 1
            ? await startLbCluster(config, { logger })
            : startLoadBalancer(config, { logger }),
        banner: (lb, config) =>
          `balancing ${lb.addr} -> ${config.backends.map((b) => b.addr).join(", ")} ` +
          `(engine: ${engineOf(lb, config.engine)})`,
      });
    case "echo":
      return await shared.serviceMain({
        name: "echo",
        schema: ECHO_SCHEMA,
        usage: "bench/serve.ts echo [flags]",
        args: flags,
        start: (config, logger) => startEcho(config, { logger }),
        banner: (echo) => `echoing on ${echo.addr}`,
      });
    case "tls-echo": {
      // The checked-in test certificate for `localhost` (and 127.0.0.1), signed by the test CA.
      // It runs until the bench kills the process (the open listener keeps it alive).
      const server = startTlsEcho("localhost");
      console.log(`echoing on ${server.addr} (TLS, certificate localhost)`);
      return;
    }
    case "load-test":
      Deno.exitCode = await loadTestCli(flags);
      return;
    default:
      throw new shared.ConfigError(
        `Cannot serve: expected one of ${SERVICES.join(", ")}, got '${service ?? ""}'`,
      );
  }
}

/** How `serve.ts` runs a proxy or a load balancer: its config, start and banner. */
interface Twin<C> {
  load(args: readonly string[]): C;
  start(config: C, logger: shared.Logger): shared.ServiceHandle | Promise<shared.ServiceHandle>;
  banner(handle: shared.ServiceHandle, config: C): string;
}

/**
 * Run a service as its main would; with `--and` flags (`second`), a second instance beside
 * the first in the same process, its banner printed with "and " in front, both stopped by one
 * shutdown.
 */
function serveTwins<S extends shared.Schema>(
  name: string,
  schema: S,
  flags: readonly string[],
  second: readonly string[] | undefined,
  twin: Twin<shared.ConfigOf<S>>,
): Promise<void> {
  return shared.serviceMain({
    name,
    schema,
    usage: `bench/serve.ts ${name} [flags] [--and flags]`,
    args: flags,
    start: async (config, logger) => {
      const a = await twin.start(config, logger);
      if (second === undefined) return a;
      const next = twin.load(second);
      const b = await twin.start(next, logger);
      console.log(`and ${twin.banner(b, next)}`);
      return {
        ...a,
        addr: a.addr,
        metricsAddr: a.metricsAddr,
        summaryLine: () => a.summaryLine(),
        shutdown: async () => {
          await b.shutdown();
          return await a.shutdown();
        },
      };
    },
    banner: twin.banner,
  });
}

if (import.meta.main) await shared.runMain(() => serve(Deno.args));
