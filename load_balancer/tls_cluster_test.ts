import assert from "node:assert/strict";
import { Logger, memorySink } from "@monkey/shared";
import {
  certFiles,
  echoUntilEof,
  readExactly,
  requires,
  startPeer,
  tlsDial,
  waitFor,
  writeAll,
} from "@monkey/testing";
import { startLbCluster } from "./cluster.ts";
import { loadLbConfig } from "./config.ts";
import { reloadOnSighup } from "./main.ts";

Deno.test({
  name:
    "a TLS load balancer with 2 workers: SIGHUP reloads the certificate in every worker; a bad one is refused, logged, kept",
  permissions: { read: true, write: true, net: true, run: true },
  ...requires("read", "write", "run"),
  async fn() {
    await using echo = startPeer((conn) => echoUntilEof(conn));
    using files = certFiles("a.test");
    const file = `${files.dir}/lb.toml`;
    Deno.writeTextFileSync(
      file,
      [
        `listen_addr = "127.0.0.1:0"`,
        `metrics_addr = "off"`,
        `workers = 2`,
        `log_level = "error"`,
        `tls_cert = "${files.cert}"`,
        `tls_key = "${files.key}"`,
        `[health_check]`,
        `interval_ms = 0`,
        `[[backends]]`,
        `addr = "${echo.addr}"`,
      ].join("\n"),
    );
    const { sink, lines } = memorySink();
    const logger = new Logger({ name: "lb", sink, level: "info" });
    const cluster = await startLbCluster(loadLbConfig(["--config", file]).config, { logger });
    // The file's port 0 would pick another port on reload: pin the one bound.
    Deno.writeTextFileSync(
      file,
      Deno.readTextFileSync(file).replace("127.0.0.1:0", cluster.addr),
    );
    const stop = reloadOnSighup(cluster, ["--config", file], logger);
    try {
      const live = await tlsDial(cluster.addr, "a.test");
      files.useCert("b.test"); // the key no longer matches
      Deno.kill(Deno.pid, "SIGHUP");
      await waitFor(() => lines.some((l) => /reload rejected/.test(l)), "the refusal logged");
      assert.ok(
        lines.some((l) => /keeping the running configuration: .*does not match/.test(l)),
        lines.join("\n"),
      );
      (await tlsDial(cluster.addr, "a.test")).close();

      files.useKey("b.test");
      Deno.kill(Deno.pid, "SIGHUP");
      await waitFor(() => lines.some((l) => /TLS certificate reloaded/.test(l)), "the reload");
      const json = await cluster.snapshot();
      assert.equal(json["reloads"], 2, "both workers reloaded");
      assert.equal(json["reload_failures"], 1);
      for (let i = 0; i < 8; i++) {
        await assert.rejects(() => tlsDial(cluster.addr, "a.test"), /not valid for name "a.test"/);
        (await tlsDial(cluster.addr, "b.test")).close();
      }
      await writeAll(live, new Uint8Array([5]));
      assert.deepEqual(await readExactly(live, 1), new Uint8Array([5]));
      live.close();
    } finally {
      stop();
      await cluster.shutdown(1000);
    }
  },
});
