import assert from "node:assert/strict";
import { waitFor } from "@monkey/testing";
import {
  browserTest,
  chartLast,
  checkDashboard,
  dataOf,
  horizontalOverflow,
  pingPongLoad,
  waitForUpdates,
} from "@monkey/testing/browser";
import { startEcho } from "./echo.ts";

browserTest(
  "echo dashboard loads with no error or outside request, matches /metrics and its charts move",
  async () => {
    const echo = startEcho({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "127.0.0.1:0",
      log_level: "error",
    });
    const origin = `http://${echo.metricsAddr}`;
    const load = await pingPongLoad(echo.addr, 3);
    // A phone-sized page in dark mode: the layout must still work.
    const phone = { viewport: { width: 390, height: 844 }, colorScheme: "dark" } as const;
    try {
      await checkDashboard(origin, "/", "dashboard-echo.png", async ({ page }) => {
        const before = await (await fetch(`${origin}/metrics?format=json`)).json();
        await waitForUpdates(page, (await waitForUpdates(page, 0)) + 2);
        const shown = Number(await dataOf(page, '[data-stat="bytes_echoed"]', "raw"));
        const after = await (await fetch(`${origin}/metrics?format=json`)).json();
        assert.ok(before.bytes_echoed <= shown && shown <= after.bytes_echoed);
        assert.ok(before.bytes_echoed < after.bytes_echoed, "load is running");
        assert.equal(Number(await dataOf(page, '[data-stat="total_connections"]', "raw")), 3);
        await waitFor(
          async () => ((await chartLast(page, "bytes"))[0] ?? 0) > 0,
          "a echo rate above zero on the bytes chart",
          10_000,
        );
        // No horizontal scrolling on a phone.
        const overflow = await horizontalOverflow(page);
        assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
      }, phone);
    } finally {
      await load.stop();
      await echo.shutdown(0);
    }
  },
);
