import assert from "node:assert/strict";
import {
  browserTest,
  checkDashboard,
  dataOf,
  pingPongLoad,
  waitForUpdates,
} from "@monkey/testing/browser";
import { startEcho } from "@monkey/echo";
import { startLoadBalancer } from "./balancer.ts";

const TOKEN = "dashboard-test-token-0123456789";
const INTERVAL_MS = 300;

browserTest(
  "lb dashboard lists three backends, shows a killed one down, drains one only with the token",
  async () => {
    const quiet = { listen_addr: "127.0.0.1:0", metrics_addr: "off", log_level: "error" } as const;
    const echoes = [startEcho(quiet), startEcho(quiet), startEcho(quiet)];
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "127.0.0.1:0",
      log_level: "error",
      admin_token: TOKEN,
      backends: echoes.map((e) => ({ addr: e.addr })),
      health_check: { interval_ms: INTERVAL_MS, timeout_ms: 200, rise: 1, fall: 1 },
    });
    const origin = `http://${lb.metricsAddr}`;
    const load = await pingPongLoad(lb.addr, 6);
    const stopped = new Set<number>();
    try {
      await checkDashboard(origin, "/dashboard", "dashboard-lb.png", async ({ page, requests }) => {
        const rows = page.locator('[data-table="backends"] tbody tr');
        assert.equal(await rows.count(), 3);
        for (const echo of echoes) {
          assert.equal(await dataOf(page, `tr[data-key="${echo.addr}"]`, "state"), "up");
        }
        // Numbers match the JSON snapshot (connections stay open, so totals hold still).
        const json = await (await fetch(`${origin}/metrics?format=json`)).json();
        assert.equal(Number(await dataOf(page, '[data-stat="total_connections"]', "raw")), 6);
        assert.equal(json.total_connections, 6);
        const points = Number(await dataOf(page, '[data-chart="backend_bytes"]', "points"));
        assert.ok(points >= 2, `per-backend chart has ${points} points`);

        // Without a token, no action is offered.
        assert.equal(await page.locator("button[data-action]").count(), 0);

        // Kill one backend: it shows down within a few health intervals.
        const victim = echoes[2]!;
        const killedAt = performance.now();
        await victim.shutdown(0);
        stopped.add(2);
        await page.locator(`tr[data-key="${victim.addr}"][data-state="down"]`).waitFor({
          timeout: 10 * INTERVAL_MS + 2000,
        });
        const downAfterMs = performance.now() - killedAt;
        assert.ok(downAfterMs < 3 * INTERVAL_MS + 1500, `down after ${downAfterMs.toFixed(0)} ms`);

        // Enter the token: actions appear; drain the first backend.
        await page.fill("#token", TOKEN);
        await page.click("#token-form button[type=submit]");
        const target = echoes[0]!.addr;
        const drain = page.locator(`tr[data-key="${target}"] button[data-action="drain"]`);
        await drain.waitFor({ timeout: 5000 });
        await drain.click();
        await page.locator(`tr[data-key="${target}"][data-state="draining"]`).waitFor({
          timeout: 5000,
        });
        assert.equal(lb.backends.get(target)?.snapshot().state, "draining");
        // The token is in sessionStorage only, never in a URL.
        assert.ok(requests.every((url) => !url.includes(TOKEN)));
        assert.equal(
          await page.evaluate(() => sessionStorage.getItem("monkey-admin-token")),
          TOKEN,
        );

        await waitForUpdates(page, (await waitForUpdates(page, 0)) + 1);
      });
    } finally {
      await load.stop();
      await lb.shutdown(0);
      await Promise.all(echoes.map((e, i) => stopped.has(i) ? undefined : e.shutdown(0)));
    }
  },
);
