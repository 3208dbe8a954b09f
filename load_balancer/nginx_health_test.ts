/**
 * The balancer's health checks against a real nginx that requires the PROXY protocol
 * (`listen ... proxy_protocol`): nginx must log no `broken header`. Runs where nginx and its
 * stream module are installed (`apt-get install nginx libnginx-mod-stream`), else ignored.
 */
import assert from "node:assert/strict";
import { Logger, memorySink } from "@monkey/shared";
import {
  freePort,
  isFile,
  NGINX,
  NGINX_STREAM_MODULE,
  readLine,
  requires,
  spawnLines,
  waitFor,
  writeNginxConfig,
} from "@monkey/testing";
import { startLoadBalancer } from "./balancer.ts";

function canRun(): { ignore: boolean } {
  const permitted = requires("run", "read", "write");
  if (permitted.ignore) return permitted;
  return { ignore: !isFile(NGINX) || !isFile(NGINX_STREAM_MODULE) };
}

for (const version of ["v1", "v2"] as const) {
  Deno.test(
    `health checks send the PROXY ${version} header: nginx (listen proxy_protocol) logs no broken header`,
    canRun(),
    async () => {
      const dir = Deno.makeTempDirSync({ prefix: "monkey-nginx-" });
      const port = freePort();
      const errorLog = `${dir}/error.log`;
      const conf = writeNginxConfig({
        dir,
        errorLog: `${errorLog} info`,
        workerConnections: 64,
        stream: true,
        body: `stream {
  server {
    listen 127.0.0.1:${port} proxy_protocol;
    return "ok\\n";
  }
}`,
      });
      await using nginx = spawnLines(NGINX, ["-p", dir, "-c", conf, "-e", errorLog]);
      const { sink } = memorySink();
      const lb = startLoadBalancer({
        listen_addr: "127.0.0.1:0",
        metrics_addr: "off",
        proxy_protocol: version,
        health_check: { interval_ms: 20, timeout_ms: 500 },
        backends: [{ addr: `127.0.0.1:${port}` }],
      }, { logger: new Logger({ sink }) });
      try {
        const backend = lb.backends.list()[0]!;
        let checks = 0;
        let last: unknown;
        await waitFor(
          () => {
            if (backend.lastCheck !== undefined && backend.lastCheck !== last) {
              last = backend.lastCheck;
              if (backend.lastCheck.result === "ok") checks++;
            }
            return checks >= 5;
          },
          "five passing checks against nginx",
          5000,
        );
        // A client through the balancer is served too (its header names the client).
        const conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: Number(lb.addr.split(":")[1]),
        });
        assert.equal(await readLine(conn), "ok");
        conn.close();
        const log = Deno.readTextFileSync(errorLog);
        assert.doesNotMatch(log, /broken header/);
      } finally {
        await lb.shutdown(0);
        await nginx.stop("SIGTERM");
        Deno.removeSync(dir, { recursive: true });
      }
    },
  );
}
