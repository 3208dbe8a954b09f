/**
 * The load balancer as a Deno Worker: one of `workers` balancers sharing the listen port.
 *
 * @module
 */

import { serveInWorker } from "@monkey/shared";
import { startLoadBalancer } from "./balancer.ts";
import type { LbConfig } from "./config.ts";

serveInWorker((config) => {
  const lb = startLoadBalancer({ ...(config as LbConfig), metrics_addr: "off" }, {
    reusePort: true,
  });
  return {
    ...lb, // addr, snapshot, families, shutdown
    fetch: (request) => lb.app.fetch(request),
    reload: (next) => lb.reload(next as LbConfig),
  };
});
