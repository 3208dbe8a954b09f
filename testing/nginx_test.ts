import assert from "node:assert/strict";
import { isFile, NGINX_STREAM_MODULE, requires, writeNginxConfig } from "./mod.ts";

Deno.test(
  "writeNginxConfig() writes one worker, no daemon, the pid in dir and the block given",
  requires("read", "write"),
  () => {
    const dir = Deno.makeTempDirSync({ prefix: "monkey-nginx-conf-" });
    try {
      const path = writeNginxConfig({
        dir,
        name: "x",
        workerConnections: 64,
        stream: true,
        body: "stream { }",
      });
      assert.equal(path, `${dir}/x.conf`);
      assert.ok(isFile(path));
      assert.equal(isFile(dir), false);
      const text = Deno.readTextFileSync(path);
      assert.ok(text.startsWith(`load_module ${NGINX_STREAM_MODULE};\ndaemon off;\n`));
      assert.match(text, new RegExp(`pid ${dir}/x\\.pid;`));
      assert.match(text, /error_log stderr error;/);
      assert.match(text, /worker_connections 64;/);
      assert.ok(text.endsWith("stream { }\n"));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
