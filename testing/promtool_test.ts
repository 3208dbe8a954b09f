import assert from "node:assert/strict";
import { Logger, memorySink } from "@monkey/shared";
import { startEcho } from "@monkey/echo";
import { startLoadBalancer } from "@monkey/load-balancer";
import { loadTestCli } from "@monkey/load-tester";
import { startProxy } from "@monkey/proxy";
import { promtoolCheck, promtoolSkipReason, promtoolTestName } from "./promtool.ts";
import { requires } from "./permissions.ts";
import { waitFor } from "./wait.ts";

const CHECKS = { interval_ms: 50, timeout_ms: 500, rise: 1, fall: 2 };
const LOAD_SECS = 30;
const WAIT_MS = 10_000;

function quiet(): Logger {
  return new Logger({ sink: memorySink().sink });
}

async function scrape(addr: string): Promise<string> {
  const res = await fetch(`http://${addr}/metrics`);
  assert.equal(res.status, 200, `GET ${addr}/metrics`);
  return await res.text();
}

Deno.test({
  name: promtoolTestName(
    "every service's /metrics passes promtool check metrics under load: echo, proxy, load balancer, load tester",
  ),
  ignore: promtoolSkipReason() !== undefined || requires("read", "write", "env", "sys").ignore,
  async fn() {
    // The load tester -> proxy (checking its target) -> load balancer (checking its backend) ->
    // echo server: every service carries traffic and every health metric has a sample.
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "127.0.0.1:0" }, {
      logger: quiet(),
    });
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "127.0.0.1:0",
      backends: [{ addr: echo.addr }],
      health_check: CHECKS,
    }, { logger: quiet() });
    const proxy = startProxy({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "127.0.0.1:0",
      target_addr: lb.addr,
      health_check: { ...CHECKS, send: undefined, expect: undefined },
    }, { logger: quiet() });
    const stop = new AbortController();
    let notices = "";
    const load = loadTestCli([
      "--config",
      "/dev/null",
      "--target",
      proxy.addr,
      "-c",
      "2",
      "-d",
      String(LOAD_SECS),
      "--metrics",
      "127.0.0.1:0",
      "--progress=false",
    ], { stdout: () => {}, stderr: (t) => void (notices += t), signal: stop.signal });
    try {
      const announced = /metrics on http:\/\/([^/\s]+)\/metrics/;
      await waitFor(() => announced.test(notices), "the load tester's metrics address");
      const liveAddr = announced.exec(notices)![1]!;
      await waitFor(
        async () => /^monkey_load_requests_total\{[^}]*\} [1-9]/m.test(await scrape(liveAddr)),
        "requests on the load tester's endpoint",
        WAIT_MS,
      );
      const services = {
        echo: echo.metricsAddr!,
        proxy: proxy.metricsAddr!,
        "load balancer": lb.metricsAddr!,
        "load tester": liveAddr,
      };
      for (const [service, addr] of Object.entries(services)) {
        const text = await scrape(addr);
        assert.match(text, /^# TYPE /m, `${service} serves metrics`);
        assert.equal(await promtoolCheck(text), "", `${service}: promtool check metrics`);
      }
    } finally {
      stop.abort();
      await load;
      await proxy.shutdown(0);
      await lb.shutdown(0);
      await echo.shutdown(0);
    }
  },
});

Deno.test({
  name: promtoolTestName("promtoolCheck() returns promtool's complaint about a bad exposition"),
  ignore: promtoolSkipReason() !== undefined,
  async fn() {
    // The load tester's old latency gauge: a quantile label on a gauge, not in base units.
    const bad = "# HELP monkey_load_latency_microseconds Latency\n" +
      "# TYPE monkey_load_latency_microseconds gauge\n" +
      'monkey_load_latency_microseconds{quantile="0.99"} 120\n';
    assert.match(await promtoolCheck(bad), /monkey_load_latency_microseconds/);
    assert.equal(await promtoolCheck("# HELP up Up\n# TYPE up gauge\nup 1\n"), "");
  },
});
