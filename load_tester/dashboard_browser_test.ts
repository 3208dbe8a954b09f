import assert from "node:assert/strict";
import {
  browserTest,
  chartLast,
  checkDashboard,
  dataOf,
  launchBrowser,
  openWatchedPage,
  screenshot,
  waitForUpdates,
} from "@monkey/testing/browser";
import { waitFor } from "@monkey/testing";
import { echoServer } from "./_testing.ts";
import { loadTestCli } from "./cli.ts";
import type { RunReport } from "./result.ts";

browserTest(
  "load tester --metrics dashboard shows the running scenario, matching /metrics, charts moving",
  async () => {
    const echo = echoServer();
    const { promise: announced, resolve } = Promise.withResolvers<string>();
    // Long enough to outlast a slow machine; stopped (Ctrl+C's path) once checked.
    const stop = new AbortController();
    const run = loadTestCli(
      ["--config", "/dev/null", "--target", echo.addr, "-c", "4", "-d", "60", "--warmup", "0"]
        .concat([
          "--metrics",
          "127.0.0.1:0",
          "--workers",
          "2",
          "--progress=false",
          "--format",
          "json",
        ]),
      {
        signal: stop.signal,
        stdout: () => {},
        stderr: (text) => {
          const found = text.match(/metrics on http:\/\/(\S+)\/metrics/);
          if (found) resolve(found[1]!);
        },
      },
    );
    try {
      const origin = `http://${await announced}`;
      const shot = "dashboard-load-tester.png";
      await checkDashboard(origin, "/dashboard", shot, async ({ page }) => {
        const json = async () =>
          (await (await fetch(`${origin}/metrics?format=json`)).json()).scenarios[0];
        const before = await json();
        await waitForUpdates(page, (await waitForUpdates(page, 0)) + 2);
        const shown = Number(
          await dataOf(page, '[data-table="scenarios"] td[data-col="requests"]', "raw"),
        );
        const after = await json();
        assert.ok(
          before.requests <= shown && shown <= after.requests,
          `page shows ${shown} requests, /metrics said ${before.requests} then ${after.requests}`,
        );
        // Load is running: the count grows (progress arrives every 500 ms from each worker).
        await waitFor(
          async () => (await json()).requests > before.requests,
          "the scenario's request count to grow",
          10_000,
        );
        assert.equal(
          await dataOf(page, '[data-table="scenarios"] tbody tr', "key"),
          after.scenario,
        );
        // The charts move: a second with requests shows a rate and percentiles. (With workers a
        // second can pass without a progress message, so wait for one rather than take the last.)
        const lastOf = (chart: string) => chartLast(page, chart);
        await waitFor(
          async () => ((await lastOf("rps"))[0] ?? 0) > 0,
          "a requests/s sample",
          10_000,
        );
        await waitFor(
          async () => {
            const [p50, , , max] = await lastOf("latency");
            return p50 !== null && p50 !== undefined && p50 > 0 && (max ?? 0) >= p50;
          },
          "a latency sample with p50 > 0 and max >= p50",
          10_000,
        );
        assert.equal((await lastOf("latency")).length, 4, "p50, p90, p99, max");
      });
    } finally {
      stop.abort();
      assert.equal(await run, 0);
      await echo.close();
    }
  },
);

browserTest(
  "--report writes one HTML file that opens from file:// with a row per scenario and the percentile plot, baseline overlaid",
  async () => {
    const echo = echoServer();
    const dir = await Deno.makeTempDir();
    const browser = await launchBrowser();
    try {
      const base = [
        "--target",
        echo.addr,
        "-c",
        "2",
        "-d",
        "2",
        "--warmup",
        "0",
        "--progress=false",
      ];
      const quiet = { stdout: () => {}, stderr: () => {} };
      // The seed matrix has 7 scenarios; two short ones from a config keep this fast.
      const config = `${dir}/two.toml`;
      await Deno.writeTextFile(
        config,
        `[[scenarios]]\nname = "small"\nconnections = 2\nmessage_size = 64\nduration_secs = 2\n` +
          `[[scenarios]]\nname = "large"\nconnections = 2\nmessage_size = 16384\nduration_secs = 2\n`,
      );
      assert.equal(
        await loadTestCli([
          "--config",
          config,
          ...base,
          "--format",
          "json",
          "--out",
          `${dir}/a.json`,
        ], quiet),
        0,
      );
      const first: RunReport = JSON.parse(await Deno.readTextFile(`${dir}/a.json`));
      assert.ok(
        (first.scenarios[0]!.series?.length ?? 0) >= 1,
        "the JSON keeps the per-second series",
      );
      assert.equal(
        await loadTestCli(
          [
            "--config",
            config,
            ...base,
            "--baseline",
            `${dir}/a.json`,
            "--report",
            `${dir}/r.html`,
            "--format",
            "json",
            "--out",
            `${dir}/b.json`,
          ],
          quiet,
        ),
        0,
      );
      // merge takes --report too.
      assert.equal(
        await loadTestCli(
          ["merge", `${dir}/a.json`, `${dir}/b.json`, "--report", `${dir}/m.html`],
          quiet,
        ),
        0,
      );

      for (const file of ["r.html", "m.html"]) {
        const { page, errors, requests } = await openWatchedPage(browser);
        await page.goto(`file://${dir}/${file}`);
        await page.locator("body[data-ready]").waitFor({ timeout: 5000 });
        assert.deepEqual(
          await page.locator("#scenarios tbody tr").evaluateAll((rows) =>
            rows.map((r) => (r as unknown as { dataset: { scenario: string } }).dataset.scenario)
          ),
          ["small", "large"],
        );
        assert.equal(await page.locator('[data-chart="percentiles"] canvas').count(), 1);
        assert.equal(await dataOf(page, '[data-chart="percentiles"]', "series"), "2");
        assert.ok(await page.locator('[data-chart="percentiles"] .u-title').textContent());
        if (file === "r.html") {
          // Per scenario: percentile plot with the baseline, requests/s and p50/p99 per second.
          assert.equal(await dataOf(page, '[data-chart="percentiles-0"]', "series"), "2");
          assert.equal(await dataOf(page, '[data-chart="rps-0"]', "series"), "2");
          assert.equal(await dataOf(page, '[data-chart="latency-0"]', "series"), "4");
          await screenshot(page, "report.png");
        }
        assert.deepEqual(errors, []);
        assert.deepEqual(requests.filter((url) => !url.startsWith("file://")), []);
        await page.context().close();
      }
    } finally {
      await browser.close();
      await echo.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
