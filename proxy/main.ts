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
      start: (config, logger): ServiceHandle | Promise<ServiceHandle> => {
        if (config.workers > 1) return startProxyCluster(config, { logger });
        const proxy = startProxy(config, { logger });
        // SIGHUP re-reads the TLS certificate (live connections keep theirs).
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
