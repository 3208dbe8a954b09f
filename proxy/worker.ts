/**
 * The proxy as a Deno Worker: one of `workers` proxies sharing the listen port.
 *
 * @module
 */

import { serveInWorker } from "@monkey/shared";
import type { ProxyConfig } from "./config.ts";
import { startProxy } from "./proxy.ts";

serveInWorker((config) => {
  const proxy = startProxy({ ...(config as ProxyConfig), metrics_addr: "off" }, {
    reusePort: true,
  });
  return {
    ...proxy, // addr, snapshot, families, shutdown
    extra: proxy.clientRows,
    // SIGHUP on the main thread: re-read the certificate (the main thread checked the files).
    reload: async () => {
      if (!(await proxy.reloadTls())) throw new Error("the worker kept its old certificate");
      return true;
    },
  };
});
