/**
 * nginx for tests and the bench: where Debian puts it and its stream module, and one writer of
 * its configuration (one worker, no master process, no daemon). Debian/Ubuntu packages:
 * `nginx`, `libnginx-mod-stream`.
 *
 * @module
 */

/** Where Debian's `nginx` package installs the program. */
export const NGINX = "/usr/sbin/nginx";
/** Where Debian's `libnginx-mod-stream` installs the stream module. */
export const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

/** What {@linkcode writeNginxConfig} writes. */
export interface NginxConfigOptions {
  /** The prefix directory: the file, `<name>.pid` and the logs go here. */
  dir: string;
  /** File name without extension. @default "nginx" */
  name?: string;
  /** `error_log` target. @default "stderr error" */
  errorLog?: string;
  /** `worker_connections`. */
  workerConnections: number;
  /** The `stream { … }` or `http { … }` block, whole. */
  body: string;
  /** Load the stream module first. @default false */
  stream?: boolean;
}

/**
 * Write an nginx configuration: one worker, no master process, no daemon, pid in `dir`.
 *
 * @param options Where, and the block that serves.
 * @returns The path of the file written (`nginx -p dir -c path`).
 * @example
 * ```ts
 * const dir = Deno.makeTempDirSync();
 * const conf = writeNginxConfig({
 *   dir,
 *   workerConnections: 64,
 *   stream: true,
 *   body: `stream { server { listen 127.0.0.1:8080; return "ok\\n"; } }`,
 * });
 * ```
 */
export function writeNginxConfig(options: NginxConfigOptions): string {
  const { dir, name = "nginx", errorLog = "stderr error" } = options;
  const path = `${dir}/${name}.conf`;
  Deno.writeTextFileSync(
    path,
    `${options.stream ? `load_module ${NGINX_STREAM_MODULE};\n` : ""}daemon off;
master_process off;
worker_processes 1;
pid ${dir}/${name}.pid;
error_log ${errorLog};
events { worker_connections ${options.workerConnections}; }
${options.body}
`,
  );
  return path;
}

/**
 * Whether a file is there.
 *
 * @param path The path.
 * @returns True when it exists and is a file.
 * @example
 * ```ts
 * if (!isFile(NGINX_STREAM_MODULE)) console.log("no stream module");
 * ```
 */
export function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
