import assert from "node:assert/strict";
import { waitFor } from "@monkey/testing";
import {
  browserTest,
  chartLast,
  checkDashboard,
  dataOf,
  pingPongLoad,
  waitForUpdates,
} from "@monkey/testing/browser";
import { startEcho } from "@monkey/echo";
import { startProxy } from "./proxy.ts";

browserTest(
  "proxy dashboard loads with no error or outside request, matches /metrics and its charts move",
  async () => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", log_level: "error" });
    const proxy = startProxy({
      listen_addr: "127.0.0.1:0",
      target_addr: echo.addr,
      metrics_addr: "127.0.0.1:0",
      log_level: "error",
    });
    const origin = `http://${proxy.metricsAddr}`;
    const load = await pingPongLoad(proxy.addr, 4);
    try {
      await checkDashboard(origin, "/", "dashboard-proxy.png", async ({ page }) => {
        const json = async () => await (await fetch(`${origin}/metrics?format=json`)).json();
        const raw = async (id: string) => Number(await dataOf(page, `[data-stat="${id}"]`, "raw"));
        const before = await json();
        await waitForUpdates(page, (await waitForUpdates(page, 0)) + 2);
        const shownBytes = await raw("bytes_upstream");
        const shownTotal = await raw("total_connections");
        const after = await json();
        assert.equal(shownTotal, after.total_connections);
        assert.equal(shownTotal, 4);
        assert.ok(
          before.bytes_upstream <= shownBytes && shownBytes <= after.bytes_upstream,
          `page shows ${shownBytes} bytes up, /metrics said ${before.bytes_upstream} then ${after.bytes_upstream}`,
        );
        assert.ok(before.bytes_upstream < after.bytes_upstream, "load is running");

        // The bytes chart moves: more points, and the latest rate is above zero.
        const points = Number(await dataOf(page, '[data-chart="bytes"]', "points"));
        assert.ok(points >= 3, `bytes chart has ${points} points`);
        await waitFor(
          async () => ((await chartLast(page, "bytes"))[0] ?? 0) > 0,
          "a up rate above zero on the bytes chart",
          10_000,
        );
        // The clients table lists loopback.
        assert.equal(await page.locator('[data-table="clients"] tbody tr').count(), 1);
      });
    } finally {
      await load.stop();
      await proxy.shutdown(0);
      await echo.shutdown(0);
    }
  },
);
