/**
 * `deno task lb`: run the load balancer from `load_balancer/lb.toml` and flags. SIGHUP rereads
 * the file (and the flags) and applies it without dropping connections.
 *
 * @module
 */

import { ConfigError, type Logger, resolveEngine, runMain, serviceMain } from "@monkey/shared";
import { type LoadBalancer, startLoadBalancer } from "./balancer.ts";
import { startLbCluster } from "./cluster.ts";
import { LB_SCHEMA, lbUsesTls, loadLbConfig } from "./config.ts";

/**
 * Reread the configuration on SIGHUP and apply it; an invalid file is logged and ignored.
 *
 * @param lb The running balancer (or cluster of balancers).
 * @param args The command line (its `--config` names the file; its flags still win).
 * @param logger Where to report.
 * @returns A function removing the listener.
 * @example
 * ```ts
 * const stop = reloadOnSighup(lb, Deno.args, logger);
 * // kill -HUP <pid> rereads the file
 * stop();
 * ```
 */
export function reloadOnSighup(
  lb: Pick<LoadBalancer, "reload" | "reloadFailed">,
  args: readonly string[],
  logger: Logger,
): () => void {
  let running = Promise.resolve();
  const onHup = () => {
    running = running.then(async () => {
      let loaded;
      try {
        loaded = loadLbConfig(args);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        lb.reloadFailed();
        logger.error(`reload rejected, keeping the running configuration: ${error.message}`);
        return;
      }
      const { changes } = await lb.reload(loaded.config);
      logger.info(
        `reloaded ${loaded.configPath ?? "flags"}: ${
          changes.length > 0 ? changes.join("; ") : "no changes"
        }`,
      );
    }).catch((error) => logger.error(`reload failed: ${(error as Error).message}`));
  };
  Deno.addSignalListener("SIGHUP", onHup);
  return () => Deno.removeSignalListener("SIGHUP", onHup);
}

if (import.meta.main) {
  await runMain(async () => {
    // Cross-key checks (duplicate backends, ...) exit 2 like schema errors.
    const { help } = loadLbConfig(Deno.args);
    await serviceMain({
      name: "lb",
      schema: LB_SCHEMA,
      usage: "deno task lb [--config load_balancer/lb.toml] [flags]",
      args: Deno.args,
      start: async (config, logger) => {
        const lb = config.workers > 1
          ? await startLbCluster(config, { logger })
          : startLoadBalancer(config, { logger });
        const stopReload = help ? () => {} : reloadOnSighup(lb, Deno.args, logger);
        return {
          addr: lb.addr,
          metricsAddr: lb.metricsAddr,
          summaryLine: () => lb.summaryLine(),
          async shutdown() {
            stopReload();
            return await lb.shutdown();
          },
        };
      },
      banner: (handle, config) =>
        `balancing ${handle.addr} -> ${
          config.backends.map((b) =>
            `${b.addr}${b.weight !== 1 ? `*${b.weight}` : ""}${b.backup ? " (backup)" : ""}`
          ).join(", ") || "(no backends)"
        } (strategy: ${config.strategy}, proxy_protocol: ${config.proxy_protocol}${
          config.workers > 1 ? `, ${config.workers} workers` : ""
        }, engine: ${
          lbUsesTls(config) ? "deno (TLS needs it)" : resolveEngine(config.engine).name
        })`,
    });
  });
}
