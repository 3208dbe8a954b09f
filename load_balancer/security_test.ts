import assert from "node:assert/strict";
import { isLoopbackAddr, Logger, memorySink } from "@monkey/shared";
import { REPO_ROOT, spawnLines } from "@monkey/testing";
import { requires } from "@monkey/testing";
import { sameSecret } from "./admin.ts";
import { startLoadBalancer } from "./balancer.ts";
import { LB_SCHEMA } from "./config.ts";

const TOKEN = "s3cr3t-admin-token-4f9a";
const NEW_TOKEN = "n3w-s3cr3t-token-77c1";

Deno.test("load balancer binds its listener and admin/metrics endpoint to loopback by default", () => {
  assert.ok(isLoopbackAddr(LB_SCHEMA.listen_addr.default));
  assert.ok(isLoopbackAddr(LB_SCHEMA.metrics_addr.default));
});

Deno.test("sameSecret() compares tokens of any length without throwing", () => {
  assert.ok(sameSecret(TOKEN, TOKEN));
  assert.ok(!sameSecret(TOKEN.slice(0, -1), TOKEN), "a prefix is not the token");
  assert.ok(!sameSecret(`${TOKEN}x`, TOKEN));
  assert.ok(!sameSecret("", TOKEN));
});

Deno.test("the admin token is never logged and no GET route shows it, through changes, wrong tokens and a reload", async () => {
  const { sink, lines } = memorySink();
  const backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${backend.addr.port}`;
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    admin_token: TOKEN,
    health_check: { interval_ms: 0 },
    backends: [{ addr }],
  }, { logger: new Logger({ name: "lb", sink, level: "debug" }) });
  try {
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const res = await lb.app.request(path, init);
      return { status: res.status, text: await res.text() };
    };
    assert.equal((await call("POST", "/backends", TOKEN, { addr: "127.0.0.1:2" })).status, 201);
    assert.equal((await call("PATCH", `/backends/${addr}`, TOKEN, { weight: 3 })).status, 200);
    assert.equal((await call("POST", `/backends/${addr}/drain`, TOKEN)).status, 200);
    assert.equal((await call("POST", `/backends/${addr}/enable`, TOKEN)).status, 200);
    assert.equal((await call("DELETE", "/backends/127.0.0.1:2", TOKEN)).status, 200);
    const wrong = await call("POST", `/backends/${addr}/drain`, `${TOKEN}-almost`);
    assert.equal(wrong.status, 401);
    assert.ok(!wrong.text.includes(TOKEN), "a refusal does not echo the token");
    const summary = await lb.reload({ ...lb.config, admin_token: NEW_TOKEN });
    assert.ok(summary.changes.includes("admin_token changed"));
    assert.equal((await call("POST", `/backends/${addr}/drain`, TOKEN)).status, 401);
    assert.equal((await call("POST", `/backends/${addr}/enable`, NEW_TOKEN)).status, 200);

    const bodies: string[] = [lb.summaryLine(), JSON.stringify(lb.snapshot())];
    for (const path of ["/", "/health", "/metrics", "/metrics?format=json", "/backends"]) {
      const res = await lb.app.request(path);
      assert.equal(res.status, 200, path);
      bodies.push(await res.text());
    }
    for (const text of [...bodies, ...lines, ...summary.changes]) {
      assert.ok(!text.includes(TOKEN) && !text.includes(NEW_TOKEN), `token shown in: ${text}`);
    }
    assert.ok(
      lines.some((l) => /admin: /.test(l)),
      "admin changes were logged (without the token)",
    );
  } finally {
    await lb.shutdown(0);
    backend.close();
  }
});

Deno.test({
  name: "deno task lb with a token from the environment never prints it, even at debug level",
  ...requires("run", "read", "env"),
  fn: async () => {
    await using lb = spawnLines(Deno.execPath(), [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env=MONKEY_ADMIN_TOKEN",
      "load_balancer/main.ts",
      "--listen",
      "127.0.0.1:0",
      "--metrics",
      "127.0.0.1:0",
      "--log-level",
      "debug",
      "--backend",
      "127.0.0.1:1",
    ], { cwd: REPO_ROOT, env: { NO_COLOR: "1", MONKEY_ADMIN_TOKEN: TOKEN } });
    const [, metrics] = await lb.waitForLine(/metrics on http:\/\/(\S+)\/metrics/);
    for (const path of ["/", "/metrics?format=json", "/backends"]) {
      const text = await (await fetch(`http://${metrics}${path}`)).text();
      assert.ok(!text.includes(TOKEN), path);
    }
    const res = await fetch(`http://${metrics}/backends/127.0.0.1:1/drain`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200, "the token from the environment is in force");
    await res.body?.cancel();
    await lb.stop("SIGTERM");
    assert.ok(lb.lines.length > 0);
    assert.ok(!lb.lines.some((l) => l.includes(TOKEN)), lb.lines.join("\n"));
  },
});
