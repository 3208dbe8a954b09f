// The load test report page: reads the embedded JSON and draws the table, the percentile
// distribution (HdrHistogram plot) and the per-second charts with uPlot. Needs format.js.

(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const COLORS = ["#2f7ed8", "#e4572e", "#29a35a", "#a05cd6", "#d4a017", "#17a2b8", "#e83e8c"];
  const esc = (t) => String(t).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const style = getComputedStyle(document.body);
  const text = style.color;
  const grid = style.getPropertyValue("--grid").trim() || "#8884";
  const axis = (extra) => ({
    stroke: text,
    grid: { stroke: grid },
    ticks: { stroke: grid },
    ...extra,
  });
  const us = (v) => (v === null || v === undefined ? "–" : fmtMicros(v));

  // --- summary and table ----------------------------------------------------------------
  const m = data.machine;
  document.getElementById("summary").innerHTML =
    `<span><strong>target</strong> ${esc(data.target)}</span>` +
    `<span><strong>started</strong> ${esc(data.started_at)}</span>` +
    `<span><strong>machine</strong> ${esc(m.cpus)} CPUs, ${esc(m.os)}, Deno ${esc(m.deno)}</span>` +
    (data.baseline
      ? `<span><strong>baseline</strong> ${esc(data.baseline.started_at)} (dashed)</span>`
      : "");

  const columns = [
    "scenario",
    "mode",
    "conns",
    "size",
    "secs",
    "requests",
    "req/s",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "errors",
    "error rate",
  ];
  if (data.baseline) columns.push("Δ req/s", "Δ p99");
  const pct = (now, before) => (before > 0 ? `${((now / before - 1) * 100).toFixed(1)}%` : "–");
  const rows = data.scenarios.map(({ result: r, baseline: b }) => {
    const l = r.latency_us;
    const cells = [
      r.name,
      r.mode,
      fmtCount(r.connections),
      fmtBytes(r.message_size),
      r.duration_secs.toFixed(1),
      fmtCount(r.requests),
      fmtCount(r.rps),
      us(l.p50),
      us(l.p90),
      us(l.p99),
      us(l.p999),
      us(l.max),
      fmtCount(r.errors.total),
      `${(r.error_rate * 100).toFixed(2)}%`,
    ];
    if (data.baseline) {
      cells.push(b ? pct(r.rps, b.rps) : "–", b ? pct(l.p99, b.latency_us.p99) : "–");
    }
    // A merge of shards: one row per shard under the merged scenario row.
    const shards = (r.shards ?? []).map((s) => {
      const rate = s.requests + s.errors > 0 ? s.errors / (s.requests + s.errors) : 0;
      const shardCells = [
        `↳ shard ${s.index}/${s.count}`,
        "",
        fmtCount(s.connections),
        "",
        s.duration_secs.toFixed(1),
        fmtCount(s.requests),
        fmtCount(s.rps),
        us(s.p50_us),
        "–",
        us(s.p99_us),
        us(s.p999_us),
        us(s.max_us),
        fmtCount(s.errors),
        `${(rate * 100).toFixed(2)}%`,
      ];
      if (data.baseline) shardCells.push("", "");
      return `<tr class="shard" data-shard="${esc(`${s.index}/${s.count}`)}">${
        shardCells.map((c) => `<td>${esc(c)}</td>`).join("")
      }</tr>`;
    });
    return `<tr data-scenario="${esc(r.name)}">${
      cells.map((c) => `<td>${esc(c)}</td>`).join("")
    }</tr>${shards.join("")}`;
  });
  document.getElementById("scenarios").innerHTML = `<thead><tr>${
    columns.map((c) => `<th>${esc(c)}</th>`).join("")
  }</tr></thead><tbody>${rows.join("")}</tbody>`;

  // --- charts ---------------------------------------------------------------------------
  function chart(parent, id, title, opts, seriesSpecs, columnsData) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.chart = id;
    parent.append(box);
    new uPlot(
      {
        title,
        width: Math.max(260, box.clientWidth || 400),
        height: 240,
        ...opts,
        series: [opts.xSeries ?? {}, ...seriesSpecs],
      },
      columnsData,
      box,
    );
    box.dataset.series = String(seriesSpecs.length);
    return box;
  }

  // The percentile axis: x = 1/(1-p), labelled 0%, 90%, 99%, 99.9% ...
  const pLabel = (x) => {
    if (x <= 1) return "0%";
    const p = 100 * (1 - 1 / x);
    const digits = Math.max(0, Math.round(Math.log10(x)) - 2);
    return `${p.toFixed(digits)}%`;
  };
  function percentileChart(parent, id, title, curves) {
    // Align every curve on the union of x values (uPlot needs one x column).
    const xs = [...new Set(curves.flatMap((c) => c.curve.x))].sort((a, b) => a - b);
    const cols = [
      xs,
      ...curves.map((c) => {
        const at = new Map(c.curve.x.map((x, i) => [x, c.curve.y[i]]));
        return xs.map((x) => at.get(x) ?? null);
      }),
    ];
    return chart(
      parent,
      id,
      title,
      {
        scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
        padding: [null, 28, null, null],
        axes: [
          axis({ splits: logSplits, values: (_u, vals) => vals.map(pLabel), space: 40 }),
          axis({ size: 80, splits: logSplits, values: (_u, vals) => vals.map(us) }),
        ],
        xSeries: { label: "percentile", value: (_u, x) => (x === null ? "–" : pLabel(x)) },
      },
      curves.map((c, i) => ({
        label: c.label,
        stroke: c.color ?? COLORS[i % COLORS.length],
        width: 1.5,
        dash: c.dashed ? [6, 4] : undefined,
        spanGaps: true,
        points: { show: false },
        value: (_u, v) => us(v),
      })),
      cols,
    );
  }

  function timeChart(parent, id, title, lines, unit) {
    const xs = [...new Set(lines.flatMap((l) => l.series.map((s) => s.t)))].sort((a, b) => a - b);
    const cols = [
      xs,
      ...lines.map((l) => {
        const at = new Map(l.series.map((s) => [s.t, s[l.key]]));
        return xs.map((x) => at.get(x) ?? null);
      }),
    ];
    const fmt = unit === "us" ? us : (v) => (v === null ? "–" : fmtCount(v));
    return chart(
      parent,
      id,
      title,
      {
        scales: { x: { time: false } },
        axes: [
          axis({
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600],
            values: (_u, vals) => vals.map((v) => `${v}s`),
          }),
          axis({ size: 80, values: (_u, vals) => vals.map(fmt) }),
        ],
        xSeries: { label: "second", value: (_u, x) => (x === null ? "–" : `${x}s`) },
      },
      lines.map((l) => ({
        label: l.label,
        stroke: l.color,
        width: 1.5,
        dash: l.dashed ? [6, 4] : undefined,
        spanGaps: true,
        value: (_u, v) => fmt(v),
      })),
      cols,
    );
  }

  const overview = document.getElementById("overview");
  const all = data.scenarios.map((s, i) => ({
    label: s.result.name,
    curve: s.curve,
    color: COLORS[i % COLORS.length],
  }));
  if (all.some((c) => c.curve.x.length > 0)) {
    percentileChart(overview, "percentiles", "latency by percentile, all scenarios", all);
  }

  const details = document.getElementById("details");
  data.scenarios.forEach((s, i) => {
    const r = s.result;
    const section = document.createElement("section");
    section.className = "table";
    section.dataset.scenario = r.name;
    const kinds = Object.entries(r.errors.by_kind).filter(([, n]) => n > 0);
    section.innerHTML = `<h2>${esc(r.name)}</h2>` +
      (kinds.length === 0
        ? `<p class="errors">no errors</p>`
        : `<table class="errors"><thead><tr><th>error kind</th><th>count</th></tr></thead><tbody>${
          kinds.map(([k, n]) => `<tr><td>${esc(k)}</td><td>${esc(fmtCount(n))}</td></tr>`).join("")
        }</tbody></table>`);
    const grid = document.createElement("div");
    grid.className = "charts";
    section.append(grid);
    details.append(section);
    const color = COLORS[i % COLORS.length];
    const curves = [{ label: r.name, curve: s.curve, color }];
    if (s.baseline) {
      curves.push({ label: "baseline", curve: s.baseline.curve, color: "#888", dashed: true });
    }
    if (s.curve.x.length > 0) {
      percentileChart(grid, `percentiles-${i}`, "latency by percentile", curves);
    }
    const series = r.series ?? [];
    const base = s.baseline?.series ?? [];
    if (series.length > 0) {
      const rps = [{ label: "req/s", series, key: "rps", color }];
      if (base.length > 0) {
        rps.push({
          label: "baseline req/s",
          series: base,
          key: "rps",
          color: "#888",
          dashed: true,
        });
      }
      timeChart(grid, `rps-${i}`, "requests/s over the run", rps, "count");
      const lat = [
        { label: "p50", series, key: "p50", color: COLORS[0] },
        { label: "p99", series, key: "p99", color: COLORS[1] },
      ];
      if (base.length > 0) {
        lat.push({
          label: "baseline p50",
          series: base,
          key: "p50",
          color: COLORS[0],
          dashed: true,
        });
        lat.push({
          label: "baseline p99",
          series: base,
          key: "p99",
          color: COLORS[1],
          dashed: true,
        });
      }
      timeChart(grid, `latency-${i}`, "p50 / p99 per second", lat, "us");
    }
  });
  document.getElementById("status").textContent = `${data.scenarios.length} scenario(s)`;
  document.body.dataset.ready = "1";
})();
