import assert from "node:assert/strict";
import { Hono } from "hono";
import { commonFields } from "../config/fields.ts";
import { exposureWarning, isLoopbackAddr, startEndpoint } from "./serve.ts";
import { Logger, memorySink } from "../service/logger.ts";

Deno.test("the metrics endpoint binds loopback by default", () => {
  assert.ok(isLoopbackAddr(commonFields("127.0.0.1:9999").metrics_addr.default));
  for (const addr of ["127.0.0.1:9090", "127.5.6.7:1", "[::1]:9090", "localhost:9090"]) {
    assert.ok(isLoopbackAddr(addr), addr);
  }
  for (const addr of ["0.0.0.0:9090", "[::]:9090", "192.168.1.5:9090", "[::ffff:10.0.0.1]:1"]) {
    assert.ok(!isLoopbackAddr(addr), addr);
  }
});

Deno.test("exposureWarning() warns beyond loopback, and says what a missing admin_token means", () => {
  assert.equal(exposureWarning("127.0.0.1:9090"), undefined);
  assert.equal(exposureWarning("[::1]:9090", { token: undefined }), undefined);
  assert.match(
    exposureWarning("0.0.0.0:9090")!,
    /0\.0\.0\.0:9090 is reachable beyond this machine/,
  );
  assert.match(
    exposureWarning("0.0.0.0:9092", { token: undefined })!,
    /no admin_token is set: admin changes are refused/,
  );
  const withToken = exposureWarning("[::]:9092", { token: "s3cr3t-token" })!;
  assert.match(withToken, /admin changes need the admin_token/);
  assert.ok(!withToken.includes("s3cr3t-token"), "the token is never shown");
});

Deno.test("startEndpoint() logs the exposure warning for a non-loopback address, none on loopback", async () => {
  const { sink, lines } = memorySink();
  const logger = new Logger({ name: "t", sink, level: "debug" });
  const fake = (addr: string) => () => ({ addr, shutdown: () => Promise.resolve() });
  const app = new Hono();
  assert.equal(startEndpoint(app, "off", logger), undefined);
  await startEndpoint(app, "127.0.0.1:9090", logger, { serve: fake("127.0.0.1:9090") })!
    .shutdown();
  assert.equal(lines.length, 0, lines.join("\n"));
  await startEndpoint(app, "0.0.0.0:9092", logger, {
    serve: fake("0.0.0.0:9092"),
    admin: { token: "hunter2-token" },
  })!.shutdown();
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /WARN .*0\.0\.0\.0:9092 is reachable beyond this machine/);
  assert.ok(!lines[0]!.includes("hunter2-token"));
});
