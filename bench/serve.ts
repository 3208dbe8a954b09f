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
import {
  LB_SCHEMA,
  type LbConfig,
  loadLbConfig,
  startLbCluster,
  startLoadBalancer,
} from "@monkey/load-balancer";
import { loadTestCli } from "@monkey/load-tester";
import { PROXY_SCHEMA, type ProxyConfig, startProxy, startProxyCluster } from "@monkey/proxy";
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
    case "proxy": {
      const start = (
        config: ProxyConfig,
        logger: shared.Logger,
      ): shared.ServiceHandle | Promise<shared.ServiceHandle> =>
        config.workers > 1 ? startProxyCluster(config, { logger }) : startProxy(config, { logger });
      const banner = (proxy: shared.ServiceHandle, config: ProxyConfig) =>
        `proxying ${proxy.addr} -> ${config.target_addr} (engine: ${
          engineOf(proxy, config.engine)
        })`;
      return await shared.serviceMain({
        name: "proxy",
        schema: PROXY_SCHEMA,
        usage: "bench/serve.ts proxy [flags] [--and flags]",
        args: flags,
        start: (config, logger) =>
          withSecond(start(config, logger), second, PROXY_SCHEMA, (next) => {
            const b = start(next, logger);
            return Promise.resolve(b).then((h) => ({ handle: h, banner: banner(h, next) }));
          }),
        banner,
      });
    }
    case "lb": {
      loadLbConfig(flags); // cross-key checks, as the load balancer's main does
      const start = async (config: LbConfig, logger: shared.Logger) =>
        config.workers > 1
          ? await startLbCluster(config, { logger })
          : startLoadBalancer(config, { logger });
      const banner = (lb: shared.ServiceHandle, config: LbConfig) =>
        `balancing ${lb.addr} -> ${config.backends.map((b) => b.addr).join(", ")} ` +
        `(engine: ${engineOf(lb, config.engine)})`;
      return await shared.serviceMain({
        name: "lb",
        schema: LB_SCHEMA,
        usage: "bench/serve.ts lb [flags] [--and flags]",
        args: flags,
        start: (config, logger) =>
          withSecond(start(config, logger), second, LB_SCHEMA, async (next) => {
            const h = await start(loadLbConfig(second!).config, logger);
            return { handle: h, banner: banner(h, next) };
          }),
        banner,
      });
    }
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

/**
 * With `--and` flags, start a second instance beside the first (its banner printed as the
 * first's is) and return one handle whose shutdown stops both.
 */
async function withSecond<S extends shared.Schema, H extends shared.ServiceHandle>(
  first: H | Promise<H>,
  flags: readonly string[] | undefined,
  schema: S,
  start: (
    config: shared.ConfigOf<S>,
  ) => Promise<{ handle: shared.ServiceHandle; banner: string }>,
): Promise<shared.ServiceHandle> {
  const a = await first;
  if (flags === undefined) return a;
  const { handle: b, banner } = await start(shared.loadConfig(schema, { args: flags }).config);
  console.log(`and ${banner}`);
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
}

if (import.meta.main) await shared.runMain(() => serve(Deno.args));
