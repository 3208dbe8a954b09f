/**
 * `deno task proxy`: run the TCP proxy from `proxy/proxy.toml` and flags.
 *
 * @module
 */

import { runMain, serviceMain } from "@monkey/shared";
import { PROXY_SCHEMA } from "./config.ts";
import { startProxy } from "./proxy.ts";

if (import.meta.main) {
  await runMain(() =>
    serviceMain({
      name: "proxy",
      schema: PROXY_SCHEMA,
      usage: "deno task proxy [--config proxy/proxy.toml] [flags]",
      args: Deno.args,
      start: (config, logger) => startProxy(config, { logger }),
      banner: (proxy, config) =>
        `proxying ${proxy.addr} -> ${config.target_addr} (relay: ${config.relay})`,
    })
  );
}
