// The live dashboard page (served as /dashboard/app.js after format.js): one EventSource on
// ./events, headline numbers, uPlot charts of the last minutes, tables, and for the load
// balancer the admin actions once the user has entered the admin token.

(function () {
  const KEEP_POINTS = 300; // 5 minutes at one update per second
  const TOKEN_KEY = "monkey-admin-token";
  const COLORS = ["#2f7ed8", "#e4572e", "#29a35a", "#a05cd6", "#d4a017", "#17a2b8", "#e83e8c"];
  const $ = (id) => document.getElementById(id);
  const charts = new Map(); // id -> { plot, labels, data, last, unit, kind }
  let lastT;

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  // --- headline numbers -------------------------------------------------------------
  function renderStats(stats) {
    const box = $("stats");
    for (const s of stats) {
      let card = box.querySelector(`[data-stat="${CSS.escape(s.id)}"]`);
      if (!card) {
        card = document.createElement("div");
        card.className = "stat";
        card.dataset.stat = s.id;
        card.innerHTML = `<span class="label">${esc(s.label)}</span><span class="value"></span>`;
        box.append(card);
      }
      const value = card.querySelector(".value");
      value.textContent = fmtValue(s.value, s.unit ?? "count");
      card.dataset.raw = String(s.value);
    }
  }

  // --- charts -------------------------------------------------------------------------
  function axisColors() {
    const style = getComputedStyle(document.body);
    return { text: style.color, grid: style.getPropertyValue("--grid").trim() || "#8884" };
  }

  function makeChart(spec, labels, data) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.chart = spec.id;
    const old = $("charts").querySelector(`[data-chart="${CSS.escape(spec.id)}"]`);
    if (old) old.replaceWith(box);
    else $("charts").append(box);
    const colors = axisColors();
    const perSec = spec.kind === "rate";
    const fmt = (v) =>
      v === null || v === undefined ? "–" : fmtValue(v, spec.unit) + (perSec ? "/s" : "");
    const plot = new uPlot(
      {
        title: spec.title,
        width: Math.max(240, box.clientWidth || 300),
        height: 170,
        scales: {
          x: { time: true },
          y: spec.log
            ? { distr: 3 }
            : { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
        },
        legend: { live: true },
        series: [
          { value: "{HH}:{mm}:{ss}" },
          ...labels.map((label, i) => ({
            label,
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            points: { show: false },
            value: (_u, v) => fmt(v),
          })),
        ],
        axes: [
          {
            stroke: colors.text,
            grid: { stroke: colors.grid },
            ticks: { stroke: colors.grid },
            values: "{HH}:{mm}:{ss}",
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300],
            space: 60,
          },
          {
            stroke: colors.text,
            grid: { stroke: colors.grid },
            ticks: { stroke: colors.grid },
            size: 80,
            ...(spec.log ? { splits: logSplits } : {}),
            values: (_u, vals) => vals.map(fmt),
          },
        ],
      },
      data,
      box,
    );
    return plot;
  }

  function renderCharts(list, t) {
    for (const spec of list) {
      let c = charts.get(spec.id);
      const labels = Object.keys(spec.series);
      if (!c || labels.some((l) => !c.labels.includes(l))) {
        const all = c ? [...c.labels, ...labels.filter((l) => !c.labels.includes(l))] : labels;
        const data = [c ? c.data[0] : []];
        all.forEach((label) => {
          const i = c ? c.labels.indexOf(label) : -1;
          data.push(i >= 0 ? c.data[i + 1] : data[0].map(() => null));
        });
        c = { labels: all, data, last: c ? c.last : {}, plot: undefined };
        c.plot = makeChart(spec, all, data);
        charts.set(spec.id, c);
      }
      c.data[0].push(t);
      c.labels.forEach((label, i) => {
        const v = spec.series[label];
        let point = v ?? null;
        if (spec.kind === "rate" && point !== null) {
          const prev = c.last[label];
          point = prev !== undefined && lastT !== undefined && t > lastT
            ? Math.max(0, (v - prev) / (t - lastT))
            : null;
          c.last[label] = v;
        }
        c.data[i + 1].push(point);
      });
      if (c.data[0].length > KEEP_POINTS) { for (const column of c.data) column.shift(); }
      c.plot.setData(c.data);
      const box = c.plot.root.parentElement;
      box.dataset.points = String(c.data[0].length);
      box.dataset.last = JSON.stringify(c.data.slice(1).map((column) => column.at(-1)));
    }
  }

  addEventListener("resize", () => {
    for (const c of charts.values()) {
      const width = c.plot.root.parentElement.clientWidth;
      if (width > 0) c.plot.setSize({ width, height: 170 });
    }
  });

  // --- tables -------------------------------------------------------------------------
  function renderTables(tables) {
    const box = $("tables");
    for (const spec of tables) {
      let section = box.querySelector(`[data-table="${CSS.escape(spec.id)}"]`);
      const admin = spec.actions === "backends" && token() !== null;
      const columns = spec.columns.map((c) => c.key).join(",") + (admin ? ",+admin" : "");
      if (!section || section.dataset.columns !== columns) {
        const fresh = document.createElement("section");
        fresh.className = "table";
        fresh.dataset.table = spec.id;
        fresh.dataset.columns = columns;
        const head = spec.columns.map((c) => `<th>${esc(c.label)}</th>`).join("");
        fresh.innerHTML = `<h2>${
          esc(spec.title)
        }</h2><div class="scroll"><table><thead><tr>${head}${
          admin ? "<th>actions</th>" : ""
        }</tr></thead><tbody></tbody></table></div>`;
        if (section) section.replaceWith(fresh);
        else box.append(fresh);
        section = fresh;
      }
      const tbody = section.querySelector("tbody");
      const keyOf = (row) => String(row[spec.columns[0].key]);
      const seen = new Set();
      spec.rows.forEach((row, index) => {
        const key = keyOf(row);
        seen.add(key);
        let tr = [...tbody.rows].find((r) => r.dataset.key === key);
        if (!tr) {
          tr = document.createElement("tr");
          tr.dataset.key = key;
          for (const c of spec.columns) {
            const td = document.createElement("td");
            td.dataset.col = c.key;
            tr.append(td);
          }
          if (admin) tr.append(actionCell(key));
        }
        if (tbody.rows[index] !== tr) tbody.insertBefore(tr, tbody.rows[index] ?? null);
        for (const c of spec.columns) {
          const td = tr.querySelector(`[data-col="${CSS.escape(c.key)}"]`);
          const text = fmtValue(row[c.key], c.unit ?? "text");
          if (td.textContent !== text) td.textContent = text;
          td.dataset.raw = String(row[c.key]);
          if (c.key === "state") tr.dataset.state = String(row[c.key]);
        }
      });
      for (const tr of [...tbody.rows]) if (!seen.has(tr.dataset.key)) tr.remove();
      if (spec.actions === "backends") {
        $("admin").hidden = false;
        const select = $("weight-backend");
        const addrs = spec.rows.map(keyOf);
        if (
          select.options.length !== addrs.length ||
          addrs.some((a, i) => select.options[i].value !== a)
        ) {
          select.innerHTML = addrs.map((a) => `<option>${esc(a)}</option>`).join("");
        }
      }
    }
  }

  function renderConfig(config) {
    const body = $("config-body");
    if (!config || body.dataset.filled) return;
    body.innerHTML = Object.entries(config)
      .map(([k, v]) =>
        `<tr><th>${esc(k)}</th><td>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</td></tr>`
      )
      .join("");
    body.dataset.filled = "1";
    $("config").hidden = false;
  }

  // --- admin (load balancer) ------------------------------------------------------------
  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function actionCell(addr) {
    const td = document.createElement("td");
    td.className = "actions";
    for (const action of ["drain", "enable", "remove"]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action;
      button.dataset.action = action;
      button.dataset.addr = addr;
      td.append(button);
    }
    return td;
  }

  async function admin(method, addr, suffix, body) {
    const headers = { authorization: `Bearer ${token()}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`backends/${encodeURIComponent(addr)}${suffix}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      showAdmin();
    }
    $("admin-status").textContent = res.ok
      ? `${method} ${addr}${suffix}: done`
      : `${method} ${addr}${suffix}: ${res.status} ${text}`;
  }

  function showAdmin() {
    const unlocked = token() !== null;
    $("token-form").hidden = unlocked;
    $("admin-tools").hidden = !unlocked;
    // Rebuild the backends table with or without the action column on the next update.
  }

  function wireAdmin() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token").value.trim();
      $("token").value = "";
      if (value !== "") sessionStorage.setItem(TOKEN_KEY, value);
      showAdmin();
    });
    $("forget").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showAdmin();
    });
    $("weight-form").addEventListener("submit", (event) => {
      event.preventDefault();
      void admin("PATCH", $("weight-backend").value, "", { weight: Number($("weight").value) });
    });
    $("tables").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || token() === null) return;
      const { action, addr } = button.dataset;
      if (action === "remove") void admin("DELETE", addr, "");
      else void admin("POST", addr, `/${action}`);
    });
    showAdmin();
  }

  // --- live updates ---------------------------------------------------------------------
  function connect() {
    const source = new EventSource("events");
    source.onopen = () => {
      $("status").textContent = "live";
      $("status").className = "live";
    };
    source.onerror = () => {
      $("status").textContent = "disconnected, retrying…";
      $("status").className = "down";
    };
    source.onmessage = (event) => {
      const update = JSON.parse(event.data);
      const t = update.t / 1000;
      $("title").textContent = update.title;
      document.title = update.title;
      renderStats(update.stats);
      renderCharts(update.charts, t);
      renderTables(update.tables);
      renderConfig(update.config);
      lastT = t;
      document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
    };
  }

  wireAdmin();
  connect();
})();
