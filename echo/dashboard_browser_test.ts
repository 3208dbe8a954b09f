import assert from "node:assert/strict";
import { waitFor } from "@monkey/testing";
import {
  browserSkipReason,
  browserTestName,
  dataOf,
  horizontalOverflow,
  launchBrowser,
  openWatchedPage,
  pingPongLoad,
  screenshot,
  waitForUpdates,
} from "@monkey/testing/browser";
import { startEcho } from "./echo.ts";

Deno.test({
  name: browserTestName(
    "echo dashboard loads with no error or outside request, matches /metrics and its charts move",
  ),
  ignore: browserSkipReason() !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const echo = startEcho({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "127.0.0.1:0",
      log_level: "error",
    });
    const origin = `http://${echo.metricsAddr}`;
    const load = await pingPongLoad(echo.addr, 3);
    const browser = await launchBrowser();
    try {
      // A phone-sized page in dark mode: the layout must still work.
      const { page, errors, requests } = await openWatchedPage(browser, {
        viewport: { width: 390, height: 844 },
        colorScheme: "dark",
      });
      await page.goto(`${origin}/`);
      await waitForUpdates(page, 3);
      const before = await (await fetch(`${origin}/metrics?format=json`)).json();
      await waitForUpdates(page, (await waitForUpdates(page, 0)) + 2);
      const shown = Number(await dataOf(page, '[data-stat="bytes_echoed"]', "raw"));
      const after = await (await fetch(`${origin}/metrics?format=json`)).json();
      assert.ok(before.bytes_echoed <= shown && shown <= after.bytes_echoed);
      assert.ok(before.bytes_echoed < after.bytes_echoed, "load is running");
      assert.equal(Number(await dataOf(page, '[data-stat="total_connections"]', "raw")), 3);
      await waitFor(
        async () =>
          (JSON.parse(await dataOf(page, '[data-chart="bytes"]', "last") ?? "[]")[0] ?? 0) > 0,
        "a echo rate above zero on the bytes chart",
        10_000,
      );
      // No horizontal scrolling on a phone.
      const overflow = await horizontalOverflow(page);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
      await screenshot(page, "dashboard-echo.png");
      assert.deepEqual(errors, []);
      assert.deepEqual(requests.filter((url) => !url.startsWith(`${origin}/`)), []);
    } finally {
      await browser.close();
      await load.stop();
      await echo.shutdown(0);
    }
  },
});
