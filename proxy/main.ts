/**
 * `deno task proxy`: run the TCP proxy from `proxy/proxy.toml` and flags.
 *
 * @module
 */

import {
  engineLabel,
  resolveEngine,
  runMain,
  type ServiceHandle,
  serviceMain,
  usesTls,
} from "@monkey/shared";
import { PROXY_SCHEMA } from "./config.ts";
import { startProxyCluster } from "./cluster.ts";
import { startProxy } from "./proxy.ts";

if (import.meta.main) {
  await runMain(() =>
    serviceMain({
      name: "proxy",
      schema: PROXY_SCHEMA,
      usage: "deno task proxy [--config proxy/proxy.toml] [flags]",
      args: Deno.args,
      start: async (config, logger): Promise<ServiceHandle> => {
        const proxy = config.workers > 1
          ? await startProxyCluster(config, { logger })
          : startProxy(config, { logger });
        // SIGHUP re-reads the TLS certificate in every worker (live connections keep theirs).
        if (config.tls_cert !== undefined) {
          Deno.addSignalListener("SIGHUP", () => void proxy.reloadTls());
        }
        return proxy;
      },
      banner: (proxy, config) =>
        `proxying ${proxy.addr} -> ${config.target_addr} (engine: ${
          usesTls(config)
            ? "deno (TLS needs it)"
            : engineLabel(resolveEngine(config.engine), config.relay)
        }${config.workers > 1 ? `, ${config.workers} workers` : ""})`,
    })
  );
}
