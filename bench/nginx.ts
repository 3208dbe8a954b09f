/**
 * nginx as a bench row (the stream module's `proxy_pass`, one worker) and as the HTTP server
 * behind the keep-alive test. Debian/Ubuntu packages: `nginx`, `libnginx-mod-stream`.
 *
 * @module
 */

import { isFile, NGINX_STREAM_MODULE, writeNginxConfig } from "@monkey/testing";
import type { PemFiles } from "./haproxy.ts";
import { type BenchTarget, freePort, type ProcessGroup, startExternal } from "./process_group.ts";

/**
 * Start nginx with the stream module (`proxy_pass`, one worker, no master process).
 *
 * @param group Process tracking.
 * @param backend `host:port` to forward to.
 * @param tls Terminate TLS with this certificate (`listen … ssl`, `ssl_certificate`).
 * @returns The target named "nginx" (or "nginx-tls"), or undefined when the stream module is
 *   not installed.
 * @example
 * ```ts
 * const nginx = await startNginxStream(new ProcessGroup(), "127.0.0.1:8081");
 * ```
 */
export function startNginxStream(
  group: ProcessGroup,
  backend: string,
  tls?: PemFiles,
): Promise<BenchTarget> | undefined {
  if (!isFile(NGINX_STREAM_MODULE)) return undefined;
  const port = freePort();
  const dir = group.tempDir();
  const ssl = tls === undefined ? "" : ` ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key}`;
  const conf = writeNginxConfig({
    dir,
    workerConnections: 8192,
    stream: true,
    body: `stream {
  server {
    listen 127.0.0.1:${port}${ssl};
    proxy_pass ${backend};
    tcp_nodelay on;
  }
}`,
  });
  const name = tls === undefined ? "nginx" : "nginx-tls";
  return startExternal(group, name, "nginx", ["-p", dir, "-c", conf], port);
}

/**
 * nginx as an HTTP server answering `200 OK` with a short body: the HTTP keep-alive backend.
 *
 * @param group Process tracking.
 * @returns The target, named "nginx-http".
 * @example
 * ```ts
 * const http = await startNginxHttp(new ProcessGroup());
 * ```
 */
export function startNginxHttp(group: ProcessGroup): Promise<BenchTarget> {
  const port = freePort();
  const dir = group.tempDir();
  const conf = writeNginxConfig({
    dir,
    name: "nginx-http",
    workerConnections: 4096,
    body: `http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "monkey\\n"; }
  }
}`,
  });
  return startExternal(
    group,
    "nginx-http",
    "nginx",
    ["-p", dir, "-c", conf],
    port,
  );
}
