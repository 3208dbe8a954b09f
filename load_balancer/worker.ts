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
    addr: lb.addr,
    snapshot: lb.snapshot,
    families: lb.families,
    fetch: (request) => lb.app.fetch(request),
    reload: (next) => lb.reload(next as LbConfig),
    shutdown: (graceMs) => lb.shutdown(graceMs),
  };
});
