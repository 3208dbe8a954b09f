import assert from "node:assert/strict";
import { startLoadBalancer } from "./balancer.ts";

const TOKEN = "never-shown-token-0123456789";

Deno.test("lb dashboard update lists every backend and never carries the admin token", async () => {
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    log_level: "error",
    admin_token: TOKEN,
    backends: [{ addr: "127.0.0.1:1" }, { addr: "127.0.0.1:2", weight: 3, backup: true }],
    health_check: { interval_ms: 0 },
  });
  try {
    const res = await lb.app.request("/events");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/^data: .*\n/m.test(text)) text += (await reader.read()).value ?? "";
    await reader.cancel();
    assert.ok(!text.includes(TOKEN), "the token is not in the stream");
    const update = JSON.parse(text.match(/^data: (.*)$/m)![1]!);
    const table = update.tables.find((t: { id: string }) => t.id === "backends");
    assert.equal(table.actions, "backends");
    assert.deepEqual(
      table.rows.map((r: Record<string, unknown>) => [r.addr, r.role, r.weight]),
      [["127.0.0.1:1", "primary", 1], ["127.0.0.1:2", "backup", 3]],
    );
    assert.equal(update.config.admin_token, "(set)");
    const page = await lb.app.request("/dashboard");
    assert.ok(!(await page.text()).includes(TOKEN));
  } finally {
    await lb.shutdown(0);
  }
});
