import assert from "node:assert/strict";
import { fakeReport, fakeResult } from "./_testing.ts";
import { percentileCurve, reportHtml } from "./report_html.ts";

Deno.test("percentileCurve climbs on a 1/(1-p) axis from the fastest to the slowest sample", () => {
  const samples = Array.from({ length: 1000 }, (_, i) => (i < 990 ? 100 : 50_000));
  const curve = percentileCurve(fakeResult("a", samples).histogram);
  assert.equal(curve.x[0], 1);
  assert.ok(Math.abs(curve.y[0]! - 100) <= 1, "0% is the fastest");
  assert.ok(curve.y.at(-1)! >= 49_950, "the end is the slowest");
  for (let i = 1; i < curve.x.length; i++) {
    assert.ok(curve.x[i]! > curve.x[i - 1]!);
    assert.ok(curve.y[i]! >= curve.y[i - 1]!);
  }
  // 1000 samples: nothing is known past 1/(1-p) = 1000, so the curve stops soon after.
  assert.ok(curve.x.at(-1)! <= 1000 * 10 ** (1 / 20) + 1);
  assert.deepEqual(percentileCurve(fakeResult("empty", []).histogram), { x: [], y: [] });
});

Deno.test("reportHtml is one file: uPlot and its licence inlined, no URL to fetch, data escaped", () => {
  const evil = fakeResult("</script><script>alert(1)</script>", [100, 200]);
  const html = reportHtml(fakeReport([fakeResult("a", [100, 200, 300]), evil]), {
    baseline: fakeReport([fakeResult("a", [150, 250])]),
  });
  assert.match(html, /The MIT License/);
  assert.match(html, /var uPlot/);
  assert.doesNotMatch(html, /<script[^>]+src=/);
  assert.doesNotMatch(html, /<link[^>]+href="(?!data:)/);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.equal(html.match(/<\/script>/g)?.length, 3, "the scenario name cannot close a script");
  const json = html.slice(html.indexOf('id="report-data">') + 17, html.indexOf("</script>"));
  const data = JSON.parse(json);
  assert.equal(data.scenarios.length, 2);
  assert.ok(data.scenarios[0].baseline.curve.x.length > 0, "baseline curve of the same name");
  assert.equal(data.scenarios[1].baseline, undefined);
  assert.equal(data.scenarios[0].result.histogram, undefined, "encoded histograms stay out");
});
