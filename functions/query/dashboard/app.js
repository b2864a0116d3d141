// Seia dashboard: one page, hash routes, the API key in sessionStorage (never in the URL).
// Routes: #/ (models), #/models/<model> (one model), #/models/<model>/features/<feature>,
// #/models/<model>/alerts (its incidents, paged), #/models/<model>/alerts/<id> (one incident).
"use strict";

(function () {
  const KEY = "seia.apiKey";
  // The API sits where the dashboard does: /dashboard locally, /<stage>/dashboard behind API Gateway.
  const API = location.pathname.replace(/\/dashboard(\/.*)?$/, "");
  const charts = [];

  // ---- small helpers -------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("data-")) el.setAttribute(k, v);
      else if (k in el) el[k] = v;
      else el.setAttribute(k, v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }
  const fmt = new Intl.NumberFormat("en-US");
  const num = (v) => (v === null || v === undefined ? "–" : fmt.format(v));
  const pct = (v) => (v === null || v === undefined || !isFinite(v) ? "–" : (100 * v).toFixed(1) + "%");
  const short = (v) => (v === null || v === undefined ? "–" : Number(v).toPrecision(3));
  const when = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "–");
  const enc = encodeURIComponent;
  // ECharts tooltips are HTML: escape whatever came from the API.
  const esc = (v) => String(v).replace(/[&<>"']/g, (ch) => "&#" + ch.charCodeAt(0) + ";");

  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || "HTTP " + status);
      this.status = status;
      this.body = body;
      this.code = err.code || "http_" + status;
    }
  }

  async function api(path, params, method, payload) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") query.set(k, v);
    const url = API + path + (query.toString() ? "?" + query : "");
    const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY), Accept: "application/json" };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(url, {
      method: method || "GET", headers, credentials: "omit", cache: "no-store",
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (resp.status === 401) { forgetKey("That API key was refused: " + ((body && body.error && body.error.message) || "401")); throw new ApiError(401, body); }
    if (!resp.ok) throw new ApiError(resp.status, body);
    return body;
  }

  // A planned route that is not served yet (404/403) or has nothing: null, so the caller shows an empty state.
  async function optional(path, params) {
    try { return await api(path, params); } catch (e) {
      if (e.status === 404 || e.status === 403 || e.status === 405) return null;
      throw e;
    }
  }

  function empty(id, text) { return h("div", { class: "empty", id }, text); }

  function chart(el, option) {
    if (!window.echarts) { el.replaceWith(empty(el.id + "-unavailable", "Charts could not load.")); return; }
    const c = window.echarts.init(el, null, { renderer: "canvas" });
    // No animation: a chart is read, not watched (and screenshots show the final picture).
    c.setOption({ animation: false, ...option });
    charts.push(c);
  }

  function plainTable(id, columns, rows) {
    return h("table", { id },
      h("thead", {}, h("tr", {}, columns.map(([, title, isNum]) => h("th", { class: isNum ? "num" : "" }, title)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([key, , isNum, f]) =>
        h("td", { class: isNum ? "num" : "" }, f ? f(r[key], r) : r[key]))))));
  }
  function dataTable(id, columns, rows) {
    return h("details", {}, h("summary", {}, "Show data"), plainTable(id, columns, rows));
  }

  // ---- the key -------------------------------------------------------------------------------
  const keyPanel = document.getElementById("key-panel");
  const view = document.getElementById("view");
  const forgetButton = document.getElementById("forget-key");

  function forgetKey(message) {
    sessionStorage.removeItem(KEY);
    caller = undefined;
    showKeyPanel(message);
  }

  function showKeyPanel(message) {
    view.replaceChildren();
    keyPanel.hidden = false;
    forgetButton.hidden = true;
    const err = document.getElementById("key-error");
    err.hidden = !message;
    err.textContent = message || "";
    document.getElementById("api-key").focus();
  }

  document.getElementById("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("api-key");
    const value = input.value.trim();
    input.value = "";
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    caller = undefined;
    render();
  });
  forgetButton.addEventListener("click", () => forgetKey(""));
  document.getElementById("openapi-link").href = API + "/v1/openapi.json";

  // ---- what the key may do (GET /v1/key): write controls are disabled, with the reason, without admin ----
  let caller;  // undefined: not asked yet; null: a server without /v1/key (every key may do everything there)
  async function whoAmI() {
    if (caller === undefined) caller = await optional("/v1/key");
    const badge = document.getElementById("key-scopes");
    badge.hidden = !caller;
    badge.textContent = caller ? "key: " + caller.scopes.join(", ") + (caller.expires_at ? " · expires " + when(caller.expires_at) : "") : "";
    return caller;
  }
  const isAdmin = () => !caller || caller.scopes.includes("admin");
  // Why a control is off, in the words of the API's 403.
  function needsAdmin(id, what) {
    const held = caller.scopes.length === 1 ? "scope " + caller.scopes[0] : "scopes " + caller.scopes.join(", ");
    return h("p", { class: "note", id }, "This key has " + held + ": " + what + " needs a key with scope admin.");
  }

  // ---- pages ---------------------------------------------------------------------------------
  function crumbs(parts) {
    const nav = document.getElementById("crumbs");
    nav.replaceChildren(...parts.flatMap(([text, href], i) =>
      [i ? " / " : "", href ? h("a", { href }, text) : h("span", {}, text)]));
  }

  function health(stats, alerts, drift) {
    const total = stats ? stats.windows.reduce((s, w) => s + w.predictions, 0) : 0;
    if (!total) return ["no data", "none"];
    // Before the first drift run there is nothing to call healthy yet.
    if (alerts === null || !drift || !drift.windows.length) return ["receiving", "ok"];
    const open = alerts.alerts.length;
    if (open) return [open + " open alert" + (open > 1 ? "s" : ""), alerts.alerts.some((a) => a.severity === "high") ? "bad" : "warn"];
    return ["healthy", "ok"];
  }

  async function modelsPage() {
    crumbs([["Models", null]]);
    const { models } = await api("/v1/models");
    if (!models.length) {
      view.replaceChildren(h("h1", {}, "Models"), empty("models-empty",
        "No models yet. Register one with POST /v1/models (see the OpenAPI document)."));
      return;
    }
    const rows = await Promise.all(models.map(async (m) => {
      const [stats, alerts, drift] = await Promise.all([
        api("/v1/models/" + enc(m.name) + "/stats", { granularity: "day" }),
        optional("/v1/models/" + enc(m.name) + "/alerts", { status: "open", limit: 100 }),
        optional("/v1/models/" + enc(m.name) + "/drift", { limit: 1 }),
      ]);
      const predictions = stats.windows.reduce((s, w) => s + w.predictions, 0);
      const labelled = stats.windows.reduce((s, w) => s + w.labelled, 0);
      const last = stats.windows.length ? stats.windows[stats.windows.length - 1].window_start : null;
      return { m, predictions, labelled, last, alerts, health: health(stats, alerts, drift) };
    }));
    view.replaceChildren(
      h("h1", {}, "Models"),
      h("div", { class: "card" }, h("table", { id: "models" },
        h("thead", {}, h("tr", {}, ["Model", "Task", "Features", "Predictions", "Labelled", "Last day (UTC)", "Open alerts", "Health"]
          .map((t, i) => h("th", { class: i >= 2 && i <= 4 || i === 6 ? "num" : "" }, t)))),
        h("tbody", {}, rows.map((r) => h("tr", { "data-model": r.m.name },
          h("td", {}, h("a", { href: "#/models/" + enc(r.m.name), class: "model-link" }, r.m.name)),
          h("td", {}, r.m.task.replace(/_/g, " ")),
          h("td", { class: "num" }, r.m.features.length),
          h("td", { class: "num predictions" }, num(r.predictions)),
          h("td", { class: "num labelled" }, num(r.labelled) + (r.predictions ? " (" + pct(r.labelled / r.predictions) + ")" : "")),
          h("td", {}, r.last ? r.last.slice(0, 10) : "–"),
          h("td", { class: "num open-alerts" }, r.alerts === null ? "–" : num(r.alerts.alerts.length)),
          h("td", {}, h("span", { class: "badge health " + r.health[1] }, r.health[0]))))))));
  }

  async function modelPage(name, granularity) {
    crumbs([["Models", "#/"], [name, null]]);
    const model = await api("/v1/models/" + enc(name));
    const base = "/v1/models/" + enc(name);
    const [stats, drift, perf, alerts] = await Promise.all([
      api(base + "/stats", { granularity }),
      optional(base + "/drift", { granularity }),
      optional(base + "/performance", { granularity }),
      optional(base + "/alerts", { status: "open", limit: OPEN_ON_MODEL_PAGE }),
    ]);
    const totalPredictions = stats.windows.reduce((s, w) => s + w.predictions, 0);
    const totalLabelled = stats.windows.reduce((s, w) => s + w.labelled, 0);

    const gran = h("select", { id: "granularity", "aria-label": "window" },
      ["hour", "day"].map((g) => h("option", { value: g, selected: g === granularity }, "per " + g)));
    gran.addEventListener("change", () => { location.hash = "#/models/" + enc(name) + "?granularity=" + gran.value; });

    const volumeChart = h("div", { class: "chart", id: "chart-volume" });
    const driftCard = h("div", { class: "card", id: "drift" }, h("h2", {}, "Drift by feature and window"));
    const perfCard = h("div", { class: "card", id: "performance" }, h("h2", {}, "Predictions and performance"));
    const alertCard = h("div", { class: "card", id: "alerts" }, h("div", { class: "toolbar" }, h("h2", {}, "Open incidents"),
      h("a", { href: "#/models/" + enc(name) + "/alerts", id: "all-incidents" }, "All incidents")));
    const settingsCard = settingsForm(name, model.settings || {});

    view.replaceChildren(
      h("h1", { id: "model-name" }, model.name),
      h("div", { class: "grid" },
        h("div", { class: "figure" }, h("div", { class: "value", id: "total-predictions" }, num(totalPredictions)), h("div", { class: "label" }, "predictions")),
        h("div", { class: "figure" }, h("div", { class: "value", id: "total-labelled" }, num(totalLabelled)), h("div", { class: "label" }, "with a ground truth")),
        h("div", { class: "figure" }, h("div", { class: "value", id: "label-coverage" }, totalPredictions ? pct(totalLabelled / totalPredictions) : "–"), h("div", { class: "label" }, "label coverage")),
        h("div", { class: "figure" }, h("div", { class: "value", id: "task" }, model.task.replace(/_/g, " ")), h("div", { class: "label" }, model.features.length + " features"))),
      h("div", { class: "card", id: "volume" }, h("div", { class: "toolbar" }, h("h2", {}, "Predictions per window / labelled"), gran),
        stats.windows.length ? volumeChart : empty("volume-empty", "No predictions yet."),
        stats.windows.length ? dataTable("volume-table", [["window_start", "Window (UTC)", false, when], ["predictions", "Predictions", true, num], ["labelled", "Labelled", true, num]], stats.windows) : null),
      driftCard, perfCard, alertCard, settingsCard,
      h("div", { class: "card features", id: "features" }, h("h2", {}, "Features"),
        model.features.map((f) => h("a", { href: "#/models/" + enc(name) + "/features/" + enc(f.name) }, f.name + " (" + f.type + ")"))));

    if (stats.windows.length) {
      chart(volumeChart, {
        tooltip: { trigger: "axis" }, legend: { data: ["predictions", "labelled"] },
        xAxis: { type: "time" }, yAxis: { type: "value", name: "rows" },
        series: [
          { name: "predictions", type: "line", showSymbol: stats.windows.length < 50, data: stats.windows.map((w) => [w.window_start, w.predictions]) },
          { name: "labelled", type: "line", showSymbol: stats.windows.length < 50, data: stats.windows.map((w) => [w.window_start, w.labelled]) },
        ],
      });
    }
    renderDrift(driftCard, drift);
    renderPerformance(perfCard, perf);
    renderAlerts(alertCard, name, alerts);
  }

  function renderDrift(card, drift) {
    if (!drift || !drift.windows || !drift.windows.length) {
      card.append(empty("drift-empty", "No drift results yet: they appear after the first drift run against a reference set."));
      return;
    }
    const windows = drift.windows.map((w) => w.window_start);
    const names = [];
    const cells = [];
    drift.windows.forEach((w, x) => {
      const columns = [...(w.features || []), ...[w.prediction, w.score, w.label].filter(Boolean)];
      for (const c of columns) {
        const label = c.kind === "feature" ? c.name : "(" + c.name + ")";
        if (!names.includes(label)) names.push(label);
        cells.push([x, names.indexOf(label), c.effect_ratio === null ? "-" : c.effect_ratio, c]);
      }
    });
    const el = h("div", { class: "chart", id: "chart-drift", style: "height:" + Math.max(220, 40 + 28 * names.length) + "px" });
    card.append(el, h("p", { class: "label" }, "Colour: largest effect divided by its threshold (1 and above is a drift-sized effect)."),
      dataTable("drift-table", [["window_start", "Window (UTC)", false, when], ["name", "Column"], ["verdict", "Verdict"],
        ["severity", "Severity", false, (v) => v || "–"], ["driver", "Driver", false, (v) => v || "–"], ["effect_ratio", "Effect / threshold", true, short]],
      cells.map(([x, , , c]) => ({ ...c, window_start: windows[x] }))));
    chart(el, {
      tooltip: { formatter: (p) => { const c = p.data[3]; return esc(names[p.data[1]]) + " · " + when(windows[p.data[0]]) + "<br>" + esc(c.verdict.replace("_", " ")) + (c.driver ? " · " + esc(c.driver) : "") + " · effect/threshold " + short(c.effect_ratio); } },
      grid: { left: 120, right: 20, top: 10, bottom: 70 },
      xAxis: { type: "category", data: windows.map(when), splitArea: { show: true } },
      yAxis: { type: "category", data: names, splitArea: { show: true } },
      visualMap: { dimension: 2, min: 0, max: 4, calculable: true, orient: "horizontal", left: "center", bottom: 0,
        inRange: { color: ["#ecfdf3", "#fef0c7", "#f79009", "#b42318"] } },
      series: [{ type: "heatmap", data: cells, label: { show: false } }],
    });
  }

  function renderPerformance(card, perf) {
    if (!perf || !perf.windows || !perf.windows.length) {
      card.append(empty("performance-empty", "No performance yet: it needs ground truths joined to predictions."));
      return;
    }
    const metricNames = [...new Set(perf.windows.flatMap((w) => Object.keys(w.metrics || {})))];
    // The estimate (from the scores, before the labels) of one metric, with its band (±3 sampling errors).
    const estMetric = "accuracy";
    const est = (w) => ((w.estimated || {}).metrics || {})[estMetric] || {};
    const hasEstimate = perf.windows.some((w) => est(w).value != null);
    const estName = "estimated " + estMetric;
    const el = h("div", { class: "chart", id: "chart-performance" });
    card.append(el, dataTable("performance-table",
      [["window_start", "Window (UTC)", false, when], ["predictions", "Predictions", true, num], ["label_coverage", "Labelled", true, pct],
       ["provisional", "Provisional", false, (v) => (v ? "yes" : "no")],
       ...metricNames.map((m) => [m, m, true, (v, r) => short((r.metrics || {})[m])]),
       ...(hasEstimate ? [["estimated", estName, true, (v, r) => est(r).value == null ? "" :
         short(est(r).value) + " (" + short(est(r).lower) + "–" + short(est(r).upper) + ")"]] : [])], perf.windows));
    const band = hasEstimate ? [
      // the band: an invisible line at the lower bound, and the width stacked on it, shaded
      { name: "band", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, tooltip: { show: false },
        data: perf.windows.map((w) => [w.window_start, est(w).lower]) },
      { name: "band", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 }, areaStyle: { opacity: 0.2 },
        tooltip: { show: false }, data: perf.windows.map((w) => [w.window_start, est(w).upper == null ? null : est(w).upper - est(w).lower]) },
      { name: estName, type: "line", lineStyle: { type: "dashed" }, data: perf.windows.map((w) => [w.window_start, est(w).value]) },
    ] : [];
    chart(el, {
      tooltip: { trigger: "axis" }, legend: { data: [...metricNames, ...(hasEstimate ? [estName, "band"] : []), "label coverage"] },
      // metrics above, label coverage below, on one time axis
      grid: [{ top: 40, bottom: "38%" }, { top: "70%", bottom: 30 }],
      xAxis: [{ type: "time", gridIndex: 0 }, { type: "time", gridIndex: 1 }],
      yAxis: [{ type: "value", name: "metric", gridIndex: 0, scale: true }, { type: "value", name: "coverage", min: 0, max: 1, gridIndex: 1 }],
      series: [
        // Provisional windows (labels still expected) get hollow points.
        ...metricNames.map((m) => ({ name: m, type: "line", data: perf.windows.map((w) => ({
          value: [w.window_start, (w.metrics || {})[m]], symbol: w.provisional ? "emptyCircle" : "circle" })) })),
        ...band,
        { name: "label coverage", type: "bar", xAxisIndex: 1, yAxisIndex: 1, itemStyle: { opacity: 0.35 }, data: perf.windows.map((w) => [w.window_start, w.label_coverage]) },
      ],
    });
  }

  // The model page shows a few open incidents; the incidents page lists them all, a page at a time.
  const OPEN_ON_MODEL_PAGE = 10;
  const INCIDENTS_PER_PAGE = 25;
  const incidentHref = (model, id) => "#/models/" + enc(model) + "/alerts/" + enc(id);
  const span = (a) => when(a.first_window_start).slice(0, a.granularity === "day" ? 10 : 16) + " → " +
    when(a.last_window_end).slice(0, a.granularity === "day" ? 10 : 16);
  const statusBadge = (status) => h("span", { class: "badge status " + (status === "open" ? "bad" : status === "acknowledged" ? "warn" : "ok") }, status);

  async function renderAlerts(card, model, page) {
    if (!page || !page.alerts || !page.alerts.length) {
      card.append(empty("alerts-empty", page ? "No open alerts." : "No alerts yet: alerting starts with the drift engine."));
      return;
    }
    const list = h("div", { id: "alert-list" });
    if (!isAdmin()) card.append(needsAdmin("alerts-readonly", "acknowledging an alert"));
    card.append(list);
    for (const a of page.alerts) {
      const ack = h("button", { type: "button", class: "acknowledge", disabled: !isAdmin(),
        title: isAdmin() ? "" : "acknowledging needs a key with scope admin" }, "Acknowledge");
      const item = h("div", { class: "alert " + a.severity, "data-alert": a.id },
        h("a", { href: incidentHref(model, a.id), class: "incident-link" }, h("strong", {}, a.summary)), " ",
        h("span", { class: "badge " + (a.severity === "high" ? "bad" : "warn") }, a.severity), " ", ack,
        h("div", { class: "label" }, a.kind.replace(/_/g, " ") + " · " + a.windows_flagged + " window" +
          (a.windows_flagged > 1 ? "s" : "") + " flagged, " + span(a) + " · opened " + when(a.opened_at)),
        (a.causes || []).length ? h("ol", { class: "causes" }, a.causes.map((c) => h("li", {}, c.message))) : null);
      ack.addEventListener("click", async () => {
        ack.disabled = true;
        try {
          await api("/v1/models/" + enc(model) + "/alerts/" + enc(a.id) + "/acknowledge", null, "POST", {});
          item.remove();
          if (!list.children.length) list.replaceWith(empty("alerts-empty", "No open alerts."));
        } catch (e) {
          ack.disabled = false;
          ack.after(h("span", { class: "error", role: "alert" }, " " + e.message));
        }
      });
      list.append(item);
    }
    if (page.next_cursor) {
      card.append(h("p", { class: "label", id: "more-incidents" }, "More are open: ",
        h("a", { href: "#/models/" + enc(model) + "/alerts?status=open" }, "see every open incident")));
    }
  }

  async function incidentsPage(model, status, cursor) {
    crumbs([["Models", "#/"], [model, "#/models/" + enc(model)], ["Incidents", null]]);
    const page = await api("/v1/models/" + enc(model) + "/alerts", { status, cursor, limit: INCIDENTS_PER_PAGE });
    const here = (s, c) => "#/models/" + enc(model) + "/alerts?status=" + s + (c ? "&cursor=" + enc(c) : "");
    const filter = h("select", { id: "incident-status", "aria-label": "status" },
      ["all", "open", "acknowledged", "resolved"].map((s) => h("option", { value: s, selected: s === status }, s)));
    filter.addEventListener("change", () => { location.hash = here(filter.value, null); });
    const rows = page.alerts.map((a) => h("tr", { "data-alert": a.id, class: "incident " + a.status },
      h("td", {}, statusBadge(a.status)),
      h("td", { class: "severity" }, a.severity + (a.peak_severity !== a.severity ? " (peak " + a.peak_severity + ")" : "")),
      h("td", {}, a.kind.replace(/_/g, " ")),
      h("td", { class: "windows" }, span(a)),
      h("td", { class: "num flagged" }, num(a.windows_flagged)),
      h("td", {}, h("a", { href: incidentHref(model, a.id), class: "incident-link" }, a.summary))));
    view.replaceChildren(
      h("h1", {}, "Incidents of " + model),
      h("div", { class: "card" },
        h("div", { class: "toolbar" }, h("h2", {}, "Open first, then the most recent"), filter),
        rows.length ? h("table", { id: "incidents" },
          h("thead", {}, h("tr", {}, ["Status", "Severity", "Kind", "Windows (UTC)", "Flagged", "What happened"]
            .map((t, i) => h("th", { class: i === 4 ? "num" : "" }, t)))),
          h("tbody", {}, rows)) : empty("incidents-empty", "No " + (status === "all" ? "" : status + " ") + "incidents."),
        h("p", { class: "pager" },
          cursor ? h("a", { href: here(status, null), id: "first-page" }, "First page") : null, " ",
          page.next_cursor ? h("a", { href: here(status, page.next_cursor), id: "next-page" }, "Next page") : null)));
  }

  async function incidentPage(model, id) {
    crumbs([["Models", "#/"], [model, "#/models/" + enc(model)], ["Incidents", "#/models/" + enc(model) + "/alerts?status=all"], ["#" + id, null]]);
    const path = "/v1/models/" + enc(model) + "/alerts/" + enc(id);
    const a = await api(path);
    const actions = h("div", { class: "toolbar", id: "incident-actions" });
    const act = (label, cls, verb) => {
      const button = h("button", { type: "button", class: cls, disabled: !isAdmin(),
        title: isAdmin() ? "" : verb + " needs a key with scope admin" }, label);
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await api(path + "/" + verb, null, "POST", {});
          await render();
        } catch (e) {
          button.disabled = false;
          button.after(h("span", { class: "error", role: "alert" }, " " + e.message));
        }
      });
      return button;
    };
    if (a.status === "open") actions.append(act("Acknowledge", "acknowledge", "acknowledge"));
    if (a.status !== "resolved") actions.append(act("Resolve", "resolve", "resolve"));
    if (a.status !== "resolved" && !isAdmin()) actions.append(needsAdmin("incident-readonly", "acknowledging or resolving an incident"));
    const facts = [
      ["Status", statusBadge(a.status)],
      ["Severity", a.severity + " now, " + a.peak_severity + " at worst"],
      ["Kind", a.kind.replace(/_/g, " ") + " · " + a.subject + (a.condition !== a.subject ? " · " + a.condition : "")],
      ["Windows (UTC)", span(a) + " · " + a.windows_flagged + " flagged"],
      ["Opened", when(a.opened_at)],
      ["Acknowledged", a.acknowledged_at ? when(a.acknowledged_at) + (a.note ? " — " + a.note : "") : "–"],
      ["Resolved", a.resolved_at ? when(a.resolved_at) + " (" + (a.resolved_by === "user" ? "by a user" : "clean windows") + ")" : "–"],
    ];
    const strip = h("div", { class: "timeline-strip", id: "timeline-strip" }, a.timeline.map((w) =>
      h("span", { class: "tick " + w.state + (w.severity ? " " + w.severity : ""), title: when(w.window_start) + " · " + w.state + (w.severity ? " (" + w.severity + ")" : "") })));
    const deliveries = a.deliveries;
    view.replaceChildren(
      h("h1", { id: "incident-summary" }, a.summary),
      actions,
      h("div", { class: "card", id: "incident-facts" }, h("table", {}, h("tbody", {}, facts.map(([k, v]) =>
        h("tr", { "data-fact": k }, h("th", {}, k), h("td", {}, v)))))),
      h("div", { class: "card", id: "incident-causes" }, h("h2", {}, "Probable causes"),
        a.causes.length ? h("ol", { class: "causes" }, a.causes.map((c) => h("li", {}, c.message))) : empty("causes-empty", "No cause ranked yet.")),
      h("div", { class: "card", id: "timeline" }, h("h2", {}, "Timeline"), strip,
        plainTable("timeline-table", [["window_start", "Window (UTC)", false, when], ["state", "State"],
          ["severity", "Severity", false, (v) => v || "–"], ["message", "What the window showed", false, (v) => v || "–"]], a.timeline)),
      h("div", { class: "card", id: "deliveries" }, h("h2", {}, "Delivery"),
        deliveries && deliveries.length
          ? plainTable("deliveries-table", [["channel", "Channel"], ["change", "Change"], ["status", "Status"],
            ["attempts", "Attempts", true, num], ["last_error", "Last error", false, (v) => v || "–"], ["sent_at", "Sent (UTC)", false, when]], deliveries)
          : empty("deliveries-empty", "No channel configured: set the model's notifications to deliver its incidents.")));
  }

  // Drift settings: every key the engine reads (PUT /v1/models/<model>/settings), rendered from the API's own
  // schema of them (ModelSettings in /v1/openapi.json, derived from seia.registry); empty means the default.
  let settingsSchemas = null;
  function loadSettingsSchemas() {
    settingsSchemas = settingsSchemas || api("/v1/openapi.json").then((doc) => doc.components.schemas);
    return settingsSchemas;
  }

  function settingsForm(model, current) {
    const card = h("div", { class: "card", id: "settings" }, h("h2", {}, "Drift settings"));
    loadSettingsSchemas()
      .then((schemas) => card.append(buildSettingsForm(model, current, schemas)))
      .catch((e) => {
        settingsSchemas = null;
        card.append(h("p", { class: "error", role: "alert" }, "Settings unavailable: " + e.message));
      });
    return card;
  }

  // The object schema a ModelSettings property refers to (thresholds, performance_drop), or null for a plain value.
  function groupSchema(schemas, prop) {
    const ref = (prop.anyOf || []).find((s) => s.$ref) || (prop.$ref ? prop : null);
    return ref ? schemas[ref.$ref.split("/").pop()] : null;
  }

  // The form fields, in schema order: [id, key, member or null, schema] per setting.
  function settingFields(schemas) {
    const fields = [];
    for (const [key, prop] of Object.entries(schemas.ModelSettings.properties)) {
      const group = groupSchema(schemas, prop);
      if (!group) { fields.push(["setting-" + key, key, null, prop]); continue; }
      for (const [member, schema] of Object.entries(group.properties)) {
        // Thresholds keep their bare names (setting-psi), other groups are prefixed (setting-performance_drop-rmse).
        fields.push(["setting-" + (key === "thresholds" ? member : key + "-" + member), key, member, schema]);
      }
    }
    return fields;
  }

  function settingInput(id, schema, value) {
    const types = [].concat(schema.type);
    const fallback = schema.default === undefined ? "none" : String(schema.default);
    const attrs = { id, name: id, title: schema.description || "" };
    let input;
    if (schema.enum) {
      const choices = schema.enum.filter((c) => c !== null);
      input = h("select", attrs,
        h("option", { value: "", selected: value === undefined || value === null }, "default (" + fallback + ")"),
        choices.map((c) => h("option", { value: c, selected: value === c }, c)));
    } else if (types.includes("array")) {
      // A list of objects (notification channels): edited as JSON.
      input = h("textarea", Object.assign(attrs, { rows: 3, cols: 60, placeholder: '[{"type": "slack", "url": "https://hooks.slack.com/…"}]' }),
        value === undefined || value === null ? "" : JSON.stringify(value));
    } else {
      attrs.value = value === undefined || value === null ? "" : String(value);
      if (types.includes("integer") || types.includes("number")) {
        Object.assign(attrs, { type: "number", step: types.includes("integer") ? 1 : "any", placeholder: fallback });
        for (const bound of ["minimum", "exclusiveMinimum"]) if (schema[bound] !== undefined) attrs.min = schema[bound];
        for (const bound of ["maximum", "exclusiveMaximum"]) if (schema[bound] !== undefined) attrs.max = schema[bound];
      } else {
        Object.assign(attrs, { type: schema.format === "uri" ? "url" : "text", placeholder: schema.format === "uri" ? "https://…" : fallback, size: 40 });
      }
      input = h("input", attrs);
    }
    const label = (schema.title || id) + (schema.default === undefined ? "" : " (default " + fallback + ")") + " ";
    return h("label", { class: "setting" }, label, input);
  }

  function buildSettingsForm(model, current, schemas) {
    const fields = settingFields(schemas);
    const stored = (key, member) => (member === null ? current[key] : (current[key] || {})[member]);
    const status = h("span", { id: "settings-status", role: "status" });
    const parts = [];
    let fieldset = null;
    for (const [id, key, member, schema] of fields) {
      if (member === null) { fieldset = null; parts.push(settingInput(id, schema, stored(key, member))); continue; }
      if (!fieldset || fieldset.dataset.group !== key) {
        const group = groupSchema(schemas, schemas.ModelSettings.properties[key]);
        fieldset = h("fieldset", { class: "settings-group", "data-group": key }, h("legend", {}, group.description || key));
        parts.push(fieldset);
      }
      fieldset.append(settingInput(id, schema, stored(key, member)));
    }
    // The server names a refused field; the browser's own checks would only hide that.
    // Without admin the form shows what is in force, every control off, and why.
    const controls = h("fieldset", { class: "settings-controls", disabled: !isAdmin() }, parts, h("button", { type: "submit" }, "Save settings"), " ", status);
    const form = h("form", { id: "settings-form", noValidate: true }, isAdmin() ? null : needsAdmin("settings-readonly", "changing settings"), controls);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const [id, key, member, schema] of fields) {
        const raw = document.getElementById(id).value.trim();
        const types = [].concat(schema.type);
        let value = raw === "" ? null : types.includes("integer") || types.includes("number") ? Number(raw) : raw;
        if (value !== null && types.includes("array")) { try { value = JSON.parse(raw); } catch (_) { /* the server names the field */ } }
        if (member === null) { body[key] = value; continue; }
        body[key] = body[key] || {};
        if (value !== null) body[key][member] = value;
      }
      // An empty group is sent as null: back to every default.
      for (const [key, value] of Object.entries(body)) if (value && typeof value === "object" && !Object.keys(value).length) body[key] = null;
      status.textContent = "Saving…";
      status.className = "";
      try {
        await api("/v1/models/" + enc(model) + "/settings", null, "PUT", body);
        status.textContent = "Saved: the drift engine uses them from its next run.";
      } catch (e) {
        const details = (e.body && e.body.error && e.body.error.details) || [];
        status.textContent = "Not saved: " + (details.map((d) => d.field + " " + d.message).join("; ") || e.message);
        status.className = "error";
      }
    });
    return form;
  }

  async function featurePage(model, feature) {
    crumbs([["Models", "#/"], [model, "#/models/" + enc(model)], [feature, null]]);
    const dist = await optional("/v1/models/" + enc(model) + "/features/" + enc(feature) + "/distribution");
    view.replaceChildren(h("h1", { id: "feature-name" }, feature));
    const card = h("div", { class: "card", id: "distribution" }, h("h2", {}, "Reference and current distribution"));
    view.append(card);
    const items = dist ? (dist.type === "numeric" ? dist.bins || [] : dist.categories || []) : [];
    if (!items.length) {
      card.append(empty("distribution-empty", "No distribution yet: it needs a reference set and a drift run."));
      return;
    }
    const labels = dist.type === "numeric"
      ? items.map((b) => (b.lower === null ? "< " + short(b.upper) : b.upper === null ? "≥ " + short(b.lower) : short(b.lower) + " – " + short(b.upper)))
      : items.map((c) => c.category);
    card.append(h("p", { class: "label" }, "reference: " + num(dist.reference.rows) + " rows · current: " + num(dist.current.rows) + " rows"));
    const el = h("div", { class: "chart", id: "chart-distribution" });
    card.append(el, dataTable("distribution-table", [["label", dist.type === "numeric" ? "Bin" : "Category"],
      ["reference_share", "Reference", true, pct], ["current_share", "Current", true, pct]],
      items.map((it, i) => ({ ...it, label: labels[i] }))));
    chart(el, {
      tooltip: { trigger: "axis", valueFormatter: pct }, legend: { data: ["reference", "current"] },
      xAxis: { type: "category", data: labels }, yAxis: { type: "value", axisLabel: { formatter: (v) => pct(v) } },
      series: [{ name: "reference", type: "bar", data: items.map((i) => i.reference_share) },
               { name: "current", type: "bar", data: items.map((i) => i.current_share) }],
    });
  }

  // ---- router --------------------------------------------------------------------------------
  async function render() {
    while (charts.length) charts.pop().dispose();
    if (!sessionStorage.getItem(KEY)) { showKeyPanel(""); return; }
    keyPanel.hidden = true;
    forgetButton.hidden = false;
    const [path, query] = (location.hash.replace(/^#/, "") || "/").split("?");
    const params = new URLSearchParams(query || "");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    view.replaceChildren(h("p", { class: "label", id: "loading" }, "Loading…"));
    document.body.dataset.state = "loading";
    try {
      await whoAmI();
      if (parts[0] === "models" && parts.length === 4 && parts[2] === "features") await featurePage(parts[1], parts[3]);
      else if (parts[0] === "models" && parts.length === 4 && parts[2] === "alerts") await incidentPage(parts[1], parts[3]);
      else if (parts[0] === "models" && parts.length === 3 && parts[2] === "alerts") {
        const status = ["open", "acknowledged", "resolved"].includes(params.get("status")) ? params.get("status") : "all";
        await incidentsPage(parts[1], status, params.get("cursor"));
      }
      else if (parts[0] === "models" && parts.length === 2) await modelPage(parts[1], params.get("granularity") === "day" ? "day" : "hour");
      else await modelsPage();
      document.body.dataset.state = "ready";
    } catch (e) {
      if (e.status === 401) return;
      view.replaceChildren(h("p", { class: "error", id: "page-error", role: "alert" },
        e.status === 404 ? "Not found: " + e.message : "Could not load this page: " + e.message));
      document.body.dataset.state = "error";
    }
  }

  window.addEventListener("hashchange", render);
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  render();
})();
