/**
 * A fake service run through `runMain` + `serviceMain`, for the subprocess tests: `--fail
 * service` throws a ServiceError from start, `--fail error` a plain two-line Error; a bad
 * `--count` is a config error. `--check`, `--version` and `pid_file` come from `serviceMain`.
 *
 * @module
 */

import { runMain, ServiceError, serviceMain } from "../mod.ts";

const SCHEMA = {
  count: { type: "integer", default: 1, min: 0, description: "a number" },
  fail: {
    type: "enum",
    values: ["none", "service", "error"],
    default: "none",
    description: "how to fail",
  },
  log_level: {
    type: "enum",
    values: ["error", "warn", "info", "debug"],
    default: "info",
    description: "log level",
  },
  metrics_log_interval_secs: { type: "number", default: 0, description: "summary interval" },
  pid_file: { type: "string", optional: true, description: "pid file" },
} as const;

await runMain(() =>
  serviceMain({
    name: "fake",
    schema: SCHEMA,
    usage: "fake [flags]",
    args: Deno.args,
    start: (config) => {
      if (config.fail === "service") {
        throw new ServiceError(
          "Cannot listen on 127.0.0.1:1 (listen_addr): address already in use",
        );
      }
      if (config.fail === "error") throw new Error("boom\n    at somewhere");
      // Stands in for a listener: keeps the process alive until shutdown.
      const alive = setInterval(() => {}, 60_000);
      return {
        addr: "127.0.0.1:1",
        metricsAddr: undefined,
        summaryLine: () => `[METRICS] count: ${config.count}`,
        shutdown: () => {
          clearInterval(alive);
          return Promise.resolve({ total_connections: config.count, forced: 0, uptime_secs: 0.5 });
        },
      };
    },
    banner: (handle) => `fake on ${handle.addr}`,
  })
);
