import assert from "node:assert/strict";
import { createMetricsApp, serveHttp } from "../app.ts";
import type { DashboardView } from "./view.ts";

function demoApp(view: () => DashboardView = () => ({
  title: "demo",
  stats: [{ id: "n", label: "n", value: 1 }],
  charts: [],
  tables: [],
})) {
  return createMetricsApp({
    service: "demo",
    prometheus: () => "",
    snapshot: () => ({}),
    healthy: () => true,
    dashboard: { view, intervalMs: 20 },
  });
}

Deno.test("GET / gives a browser the dashboard and curl the text index", async () => {
  const app = demoApp();
  const browser = await app.request("/", { headers: { accept: "text/html,*/*;q=0.8" } });
  assert.equal(browser.status, 200);
  assert.match(browser.headers.get("content-type")!, /^text\/html/);
  assert.match(await browser.text(), /<script src="dashboard\/app.js"><\/script>/);
  const curl = await app.request("/", { headers: { accept: "*/*" } });
  assert.match(curl.headers.get("content-type")!, /^text\/plain/);
  const index = await curl.text();
  assert.match(index, /GET \/dashboard/);
  assert.match(index, /GET \/events/);
});

Deno.test("dashboard responses carry a tight CSP and nosniff; assets load from the endpoint", async () => {
  const app = demoApp();
  for (
    const path of ["/dashboard", "/dashboard/app.js", "/dashboard/uplot.js", "/dashboard/style.css"]
  ) {
    const res = await app.request(path);
    assert.equal(res.status, 200, path);
    const csp = res.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'none'/, path);
    assert.match(csp, /script-src 'self'(;|$)/, path);
    assert.match(csp, /connect-src 'self'/, path);
    assert.doesNotMatch(csp, /unsafe/, path);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    await res.body?.cancel();
  }
  const uplot = await (await app.request("/dashboard/uplot.js")).text();
  assert.match(uplot, /The MIT License/);
  assert.match(uplot, /var uPlot/);
  const html = await (await app.request("/dashboard")).text();
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "nothing from elsewhere");
});

Deno.test("the dashboard adds no write route: POST /dashboard and POST /events answer 405", async () => {
  const app = demoApp();
  for (const path of ["/dashboard", "/events"]) {
    const res = await app.request(path, { method: "POST", body: "x" });
    assert.equal(res.status, 405, path);
    await res.body?.cancel();
  }
});

Deno.test("GET /events streams JSON updates; the ticker stops when the client leaves and shutdown does not wait for it", async () => {
  let views = 0;
  const app = demoApp(() => ({ title: `v${++views}`, stats: [], charts: [], tables: [] }));
  const endpoint = serveHttp(app, "127.0.0.1:0");
  try {
    const controller = new AbortController();
    const res = await fetch(`http://${endpoint.addr}/events`, { signal: controller.signal });
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/^data: /gm) ?? []).length < 2) text += (await reader.read()).value ?? "";
    const first = JSON.parse(text.split("\n").find((l) => l.startsWith("data: "))!.slice(6));
    assert.equal(first.title, "v1");
    assert.equal(typeof first.t, "number");
    controller.abort();
    await reader.cancel().catch(() => {});
    // Once the stream is gone no more views are produced.
    const deadline = performance.now() + 2000;
    let settled = views;
    while (performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 60));
      if (views === settled) break;
      settled = views;
    }
    assert.equal(views, settled, "no views once the only client left");

    // A client still connected at shutdown does not hold the server open.
    const open = await fetch(`http://${endpoint.addr}/events`);
    const openReader = open.body!.getReader();
    await openReader.read();
    const started = performance.now();
    await endpoint.shutdown();
    assert.ok(performance.now() - started < 1000);
    await openReader.cancel().catch(() => {});
  } catch (error) {
    await endpoint.shutdown();
    throw error;
  }
});
