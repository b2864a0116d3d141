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

  // The models list counts the last 90 days (whole UTC days, today's included): explicit bounds, never "all".
  let LIST_SPAN = null;
  async function modelsPage() {
    crumbs([["Models", null]]);
    const end = Math.ceil((Date.now() + 1) / 86400e3) * 86400e3;
    LIST_SPAN = { from: new Date(end - 90 * 86400e3).toISOString(), to: new Date(end).toISOString() };
    const { models } = await api("/v1/models");
    if (!models.length) {
      view.replaceChildren(h("h1", {}, "Models"), empty("models-empty",
        "No models yet. Register one with POST /v1/models (see the OpenAPI document)."));
      return;
    }
    const rows = await Promise.all(models.map(async (m) => {
      const [stats, alerts, drift] = await Promise.all([
        api("/v1/models/" + enc(m.name) + "/stats", { ...LIST_SPAN, granularity: "day" }),
        optional("/v1/models/" + enc(m.name) + "/alerts", { status: "open", limit: 100 }),
        optional("/v1/models/" + enc(m.name) + "/drift", { ...LIST_SPAN, granularity: "day", limit: 1 }),
      ]);
      const predictions = stats.windows.reduce((s, w) => s + w.predictions, 0);
      const labelled = stats.windows.reduce((s, w) => s + w.labelled, 0);
      const last = stats.windows.length ? stats.windows[stats.windows.length - 1].window_start : null;
      return { m, predictions, labelled, last, alerts, health: health(stats, alerts, drift) };
    }));
    view.replaceChildren(
      h("h1", {}, "Models"),
      h("div", { class: "card" }, h("table", { id: "models" },
        h("thead", {}, h("tr", {}, ["Model", "Task", "Features", "Predictions (90 d)", "Labelled (90 d)", "Last day (UTC)", "Open alerts", "Health"]
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

  // ---- the range every chart of a model page follows ----------------------------------------
  // In the hash, so a link shares it: ?range=24h|7d|30d|90d (ending now), or ?from=…&to=… (custom);
  // &granularity=hour|day overrides the one that fits (hour up to 2 days, day beyond); &cell=<column>@<window>.
  const HOUR_MS = 3600e3, DAY_MS = 24 * HOUR_MS;
  const PRESETS = { "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS, "90d": 90 * DAY_MS };
  const DEFAULT_RANGE = "7d";
  const MAX_HOURLY_MS = 14 * DAY_MS;  // hourly windows beyond two weeks would not fit a heat map
  const floorTo = (t, step) => Math.floor(t / step) * step;
  const ceilTo = (t, step) => Math.ceil(t / step) * step;
  const isoZ = (t) => new Date(t).toISOString().replace(".000Z", "Z");
  function parseTime(raw) {
    if (!raw) return null;
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(raw) ? raw + "T00:00:00Z" : raw);
    return isNaN(t) ? null : t;
  }

  function rangeOf(params, now) {
    let name = params.get("range") || DEFAULT_RANGE;
    let from = parseTime(params.get("from")), to = parseTime(params.get("to"));
    if (name === "custom" || (params.get("from") && !params.get("range"))) {
      name = "custom";
      if (from === null || to === null || to <= from) { name = DEFAULT_RANGE; from = to = null; }
    } else if (!(name in PRESETS)) name = DEFAULT_RANGE;
    const length = name === "custom" ? to - from : PRESETS[name];
    const asked = params.get("granularity");
    let granularity = length <= 2 * DAY_MS ? "hour" : "day";
    if (asked === "day" || (asked === "hour" && length <= MAX_HOURLY_MS)) granularity = asked;
    const step = granularity === "day" ? DAY_MS : HOUR_MS;
    // A preset ends with the window that holds now (7 d: today and the 6 days before it); a custom range
    // widens to whole windows.
    if (name !== "custom") { to = ceilTo(now + 1, step); from = to - length; }
    else { from = floorTo(from, step); to = ceilTo(to, step); }
    return { name, from, to, granularity, step: granularity === "day" ? DAY_MS : HOUR_MS, cell: params.get("cell"),
      segment: params.get("segment") || null };
  }

  function rangeHash(model, r, changes) {
    const next = { ...r, ...changes };
    const q = new URLSearchParams();
    if (next.name === "custom") { q.set("from", isoZ(next.from)); q.set("to", isoZ(next.to)); }
    else q.set("range", next.name);
    if (next.granularityAsked) q.set("granularity", next.granularityAsked);
    if (next.segment) q.set("segment", next.segment);
    if (next.cell) q.set("cell", next.cell);
    return "#/models/" + enc(model) + "?" + q.toString();
  }

  // Every page of a windowed route over the range (the API pages at most 1,000 windows).
  async function allWindows(path, params) {
    let body = null;
    let cursor = null;
    for (let i = 0; i < 20; i++) {
      const page = await optional(path, { ...params, limit: 1000, cursor });
      if (page === null) return body;
      if (body === null) body = page; else body.windows.push(...page.windows);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    return body;
  }

  // The segment picker: all traffic, or one followed value of a declared segment field (GET model's
  // segment_values); none for a model that declares no segments.
  function segmentPicker(model, r, values) {
    const fields = Object.keys(values || {});
    if (!fields.length) return null;
    const pick = h("select", { id: "segment", "aria-label": "segment" }, h("option", { value: "", selected: !r.segment }, "all traffic"),
      ...fields.map((f) => h("optgroup", { label: f }, ...values[f].map((v) =>
        h("option", { value: f + ":" + v, selected: r.segment === f + ":" + v }, f + " = " + v)))));
    pick.addEventListener("change", () => { location.hash = rangeHash(model, r, { segment: pick.value || null, cell: null }); });
    return pick;
  }

  function rangePicker(model, r, segmentValues) {
    const bar = h("div", { class: "toolbar range", id: "range-picker", role: "group", "aria-label": "date range" });
    for (const name of Object.keys(PRESETS)) {
      const a = h("a", { href: rangeHash(model, r, { name, cell: null, granularityAsked: null }), class: "range-option" + (r.name === name ? " selected" : ""),
        "data-range": name, "aria-current": r.name === name ? "true" : null }, name.replace("h", " h").replace("d", " d"));
      bar.append(a);
    }
    const day = (t) => isoZ(t).slice(0, 10);
    const from = h("input", { type: "date", id: "range-from", value: day(r.from), "aria-label": "from (UTC)" });
    const to = h("input", { type: "date", id: "range-to", value: day(r.to - 1), "aria-label": "to (UTC, inclusive)" });
    const apply = h("button", { type: "submit", id: "range-apply" }, "Apply");
    const custom = h("form", { id: "range-custom", class: "range-custom" + (r.name === "custom" ? " selected" : "") }, "custom:", from, "–", to, apply);
    custom.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = parseTime(from.value), t = parseTime(to.value);
      if (f === null || t === null || t < f) { apply.after(h("span", { class: "error", role: "alert" }, " the end must not be before the start")); return; }
      location.hash = rangeHash(model, r, { name: "custom", from: f, to: t + DAY_MS, cell: null, granularityAsked: null });
    });
    const gran = h("select", { id: "granularity", "aria-label": "window" },
      h("option", { value: "hour", selected: r.granularity === "hour", disabled: r.to - r.from > MAX_HOURLY_MS }, "per hour"),
      h("option", { value: "day", selected: r.granularity === "day" }, "per day"));
    gran.addEventListener("change", () => { location.hash = rangeHash(model, r, { granularityAsked: gran.value, cell: null }); });
    bar.append(custom, gran);
    const segment = segmentPicker(model, r, segmentValues);
    if (segment) bar.append(segment);
    bar.append(h("span", { class: "label", id: "range-label" },
      when(isoZ(r.from)) + " → " + when(isoZ(r.to)) + " UTC"));
    return bar;
  }

  async function modelPage(name, params) {
    crumbs([["Models", "#/"], [name, null]]);
    const r = rangeOf(params, Date.now());
    r.granularityAsked = params.get("granularity");
    const base = "/v1/models/" + enc(name);
    // ?segment=region:eu: every chart and list of the page shows that segment value's traffic only
    const bounds = { from: isoZ(r.from), to: isoZ(r.to), granularity: r.granularity, segment: r.segment };
    const [model, stats, drift, perf, alerts] = await Promise.all([
      api(base),
      api(base + "/stats", bounds),
      allWindows(base + "/drift", bounds),
      allWindows(base + "/performance", bounds),
      optional(base + "/alerts", { status: "open", limit: OPEN_ON_MODEL_PAGE, segment: r.segment }),
    ]);
    document.body.dataset.from = bounds.from;
    document.body.dataset.to = bounds.to;
    document.body.dataset.granularity = r.granularity;
    const totalPredictions = stats.windows.reduce((s, w) => s + w.predictions, 0);
    const totalLabelled = stats.windows.reduce((s, w) => s + w.labelled, 0);

    const volumeChart = h("div", { class: "chart small", id: "chart-volume" });
    const driftCard = h("div", { class: "card", id: "drift" }, h("h2", {}, "Drift by column and " + r.granularity));
    const perfCard = h("div", { class: "card", id: "performance" }, h("h2", {}, "Performance"));
    const alertCard = h("div", { class: "card", id: "alerts" }, h("div", { class: "toolbar" }, h("h2", {}, "Open incidents"),
      h("a", { href: "#/models/" + enc(name) + "/alerts", id: "all-incidents" }, "All incidents")));
    const settingsCard = settingsForm(name, model.settings || {});

    view.replaceChildren(
      h("div", { class: "toolbar title" }, h("h1", { id: "model-name" }, model.name),
        h("span", { class: "label" }, model.task.replace(/_/g, " ") + " · " + model.features.length + " features")),
      rangePicker(name, r, model.segment_values),
      h("div", { class: "grid" },
        h("div", { class: "figure" }, h("div", { class: "value", id: "total-predictions" }, num(totalPredictions)), h("div", { class: "label" }, "predictions in the range")),
        h("div", { class: "figure" }, h("div", { class: "value", id: "total-labelled" }, num(totalLabelled)), h("div", { class: "label" }, "with a ground truth")),
        h("div", { class: "figure" }, h("div", { class: "value", id: "label-coverage" }, totalPredictions ? pct(totalLabelled / totalPredictions) : "–"), h("div", { class: "label" }, "label coverage")),
        h("div", { class: "figure" }, h("div", { class: "value", id: "open-count" }, alerts === null ? "–" : num(alerts.alerts.length) + (alerts.next_cursor ? "+" : "")), h("div", { class: "label" }, "open incidents"))),
      driftCard,
      h("div", { class: "columns" },
        h("div", { class: "card", id: "volume" }, h("h2", {}, "Predictions and labels per " + r.granularity),
          stats.windows.length ? volumeChart : empty("volume-empty", "No predictions in this range."),
          stats.windows.length ? dataTable("volume-table", [["window_start", "Window (UTC)", false, when], ["predictions", "Predictions", true, num], ["labelled", "Labelled", true, num]], stats.windows) : null),
        perfCard),
      alertCard, settingsCard,
      h("p", { class: "features label", id: "features" }, "Features: ",
        model.features.map((f) => h("a", { href: "#/models/" + enc(name) + "/features/" + enc(f.name) +
          (r.segment ? "?segment=" + encodeURIComponent(r.segment) : "") }, f.name + " (" + f.type + ")"))));

    const timeAxis = { type: "time", min: r.from, max: r.to };
    if (stats.windows.length) {
      chart(volumeChart, {
        tooltip: { trigger: "axis" }, legend: { data: ["predictions", "labelled"] }, grid: { left: 50, right: 16, top: 30, bottom: 30 },
        xAxis: timeAxis, yAxis: { type: "value" },
        series: [
          { name: "predictions", type: "line", showSymbol: stats.windows.length < 50, data: stats.windows.map((w) => [w.window_start, w.predictions]) },
          { name: "labelled", type: "line", showSymbol: stats.windows.length < 50, data: stats.windows.map((w) => [w.window_start, w.labelled]) },
        ],
      });
    }
    renderDrift(driftCard, name, model.features, drift, r);
    renderPerformance(perfCard, perf, timeAxis);
    renderAlerts(alertCard, name, alerts);
  }

  // The heat map: one row per column, one cell per window of the range (HTML, so each cell is a button).
  const COLUMN_KEY = { prediction: "__prediction__", score: "__score__", label: "__label__", multivariate: "__multivariate__" };
  const columnKey = (c) => (c.kind === "feature" ? c.name : COLUMN_KEY[c.name] || c.name);
  function cellClass(c) {
    if (!c) return "cell none";
    if (c.verdict === "drift") return "cell drift " + (c.severity || "medium");
    if (c.verdict === "insufficient_data") return "cell insufficient";
    return "cell ok" + (c.effect_ratio !== null && c.effect_ratio >= 0.5 ? " near" : "");
  }

  function renderDrift(card, model, features, drift, r) {
    if (!drift || !drift.reference) {
      card.append(empty("drift-empty", "No drift results yet: they appear after the first drift run against a reference set."));
      return;
    }
    const starts = [];
    for (let t = r.from; t < r.to; t += r.step) starts.push(t);
    // Every feature has its row, results or not: the map covers the range even where nothing was judged yet.
    const byColumn = new Map(features.map((f) => [f.name, { label: f.name, cells: new Map() }]));
    const flat = [];
    if (!drift.windows.length) card.append(h("p", { class: "label", id: "drift-none" }, "No drift results in this range yet."));
    for (const w of drift.windows) {
      const x = Math.round((Date.parse(w.window_start) - r.from) / r.step);
      for (const c of [...(w.features || []), ...[w.prediction, w.score, w.label, w.multivariate].filter(Boolean)]) {
        const key = columnKey(c);
        if (!byColumn.has(key)) byColumn.set(key, { label: c.kind === "feature" ? c.name : "(" + c.name + ")", cells: new Map() });
        byColumn.get(key).cells.set(x, c);
        flat.push({ ...c, window_start: w.window_start });
      }
    }
    const grid = h("div", { class: "heatmap", id: "heatmap", style: "grid-template-columns: 8rem repeat(" + starts.length + ", minmax(3px, 1fr))" });
    const every = Math.max(1, Math.ceil(starts.length / 8));
    const label = (t) => (r.granularity === "day" ? isoZ(t).slice(5, 10) : isoZ(t).slice(5, 13).replace("T", " ") + "h");
    for (const [key, row] of byColumn) {
      // A feature's label opens its page (its distribution over the whole range); the model's own columns have none.
      grid.append(h("div", { class: "row-label", title: row.label }, row.label.startsWith("(") ? row.label
        : h("a", { href: "#/models/" + enc(model) + "/features/" + enc(key) + "?from=" + enc(isoZ(r.from)) + "&to=" + enc(isoZ(r.to)) }, row.label)));
      starts.forEach((t, x) => {
        const c = row.cells.get(x);
        const cell = h("button", { type: "button", class: cellClass(c), "data-column": key, "data-window": isoZ(t),
          title: row.label + " · " + when(isoZ(t)) + (c ? " · " + c.verdict.replace("_", " ") + (c.severity ? " (" + c.severity + ")" : "") +
            (c.driver ? " · " + c.driver : "") + " · effect/threshold " + short(c.effect_ratio) : " · no result") });
        // The multivariate row has no distribution of its own to open (its causes are on its incident's page).
        if (key !== "__multivariate__") cell.addEventListener("click", () => { location.hash = rangeHash(model, r, { cell: key + "@" + isoZ(t) }); });
        grid.append(cell);
      });
    }
    grid.append(h("div", {}), ...starts.map((t, x) => h("div", { class: "axis" }, x % every === 0 ? label(t) : "")));
    card.append(grid, h("p", { class: "label legend" },
      h("span", { class: "swatch ok" }), " no drift ", h("span", { class: "swatch ok near" }), " effect over half its threshold ",
      h("span", { class: "swatch drift low" }), h("span", { class: "swatch drift medium" }), h("span", { class: "swatch drift high" }),
      " drift (low, medium, high) ", h("span", { class: "swatch insufficient" }), " too few rows · click a cell for its distributions and causes"),
      dataTable("drift-table", [["window_start", "Window (UTC)", false, when], ["name", "Column"], ["verdict", "Verdict"],
        ["severity", "Severity", false, (v) => v || "–"], ["driver", "Driver", false, (v) => v || "–"], ["effect_ratio", "Effect / threshold", true, short]], flat));
    if (r.cell) {
      const at = r.cell.lastIndexOf("@");
      const panel = h("div", { id: "cell" });
      card.append(panel);
      renderCell(panel, model, r, r.cell.slice(0, at), r.cell.slice(at + 1));
      const button = grid.querySelector('[data-column="' + CSS.escape(r.cell.slice(0, at)) + '"][data-window="' + CSS.escape(r.cell.slice(at + 1)) + '"]');
      if (button) button.classList.add("selected");
    }
  }

  const STATISTICS = [["rows_cur", "rows in the window", num], ["rows_ref", "rows in the reference", num], ["psi", "PSI", short],
    ["js_distance", "Jensen–Shannon distance", short], ["ks_statistic", "KS statistic", short], ["ks_pvalue", "KS p-value", short],
    ["wasserstein_normed", "Wasserstein (normed)", short], ["chi2_pvalue", "χ² p-value", short], ["mean_ref", "mean, reference", short],
    ["mean_cur", "mean, window", short], ["std_ref", "std, reference", short], ["std_cur", "std, window", short],
    ["missing_rate_ref", "missing, reference", pct], ["missing_rate_cur", "missing, window", pct], ["unseen_share", "unseen categories", pct]];

  async function renderCell(panel, model, r, key, windowStart) {
    panel.append(h("p", { class: "label" }, "Loading…"));
    let cell;
    try {
      cell = await api("/v1/models/" + enc(model) + "/drift/" + enc(key), { window_start: windowStart, granularity: r.granularity, segment: r.segment });
    } catch (e) {
      if (e.status === 401) return;
      panel.replaceChildren(h("p", { class: "error", role: "alert", id: "cell-error" }, "Could not load this cell: " + e.message));
      return;
    }
    const close = h("a", { href: rangeHash(model, r, { cell: null }), id: "cell-close" }, "close");
    const res = cell.result;
    const items = cell.type === "numeric" ? cell.bins : cell.categories;
    const labels = cell.type === "numeric"
      ? items.map((b) => (b.lower === null ? "< " + short(b.upper) : b.upper === null ? "≥ " + short(b.lower) : short(b.lower) + " – " + short(b.upper)))
      : items.map((c) => c.category);
    const chartEl = h("div", { class: "chart small", id: "chart-cell" });
    const stats = res ? STATISTICS.filter(([k]) => res.statistics[k] !== undefined && res.statistics[k] !== null) : [];
    panel.replaceChildren(
      h("div", { class: "toolbar" }, h("h2", { id: "cell-title" }, cell.column + " · " + when(cell.window_start) + (cell.granularity === "day" ? " (day)" : " (hour)")),
        res ? h("span", { class: "badge " + (res.verdict === "drift" ? "bad" : res.verdict === "no_drift" ? "ok" : "none"), id: "cell-verdict" },
          res.verdict.replace("_", " ") + (res.severity ? " · " + res.severity : "")) : null, close),
      h("div", { class: "columns" },
        h("div", {}, items.length ? chartEl : empty("cell-empty", "No distribution for this window."),
          h("p", { class: "label" }, "reference: " + num(cell.reference.rows) + " rows · window: " + num(cell.current.rows) + " rows")),
        h("div", {}, res ? h("p", { class: "label" }, "driver: " + (res.driver || "–") + " · effect / threshold " + short(res.effect_ratio)) : null,
          stats.length ? h("table", { id: "cell-statistics" }, h("tbody", {}, stats.map(([k, title, f]) =>
            h("tr", { "data-stat": k }, h("th", {}, title), h("td", { class: "num" }, f(res.statistics[k])))))) : empty("cell-no-statistics", "No statistics for this window."))),
      h("div", { id: "cell-causes" }, h("h3", {}, "Incidents and causes"),
        cell.incidents.length ? cell.incidents.map((i) => h("div", { class: "alert " + i.severity, "data-alert": i.id },
          h("a", { href: incidentHref(model, i.id), class: "incident-link" }, i.summary), " ", statusBadge(i.status),
          i.causes.length ? h("ol", { class: "causes" }, i.causes.map((c) => h("li", {}, c.message))) : null))
          : empty("cell-causes-empty", "No incident covers this window.")));
    if (items.length) {
      chart(chartEl, {
        tooltip: { trigger: "axis", valueFormatter: pct }, legend: { data: ["reference", "window"] }, grid: { left: 50, right: 16, top: 30, bottom: 40 },
        xAxis: { type: "category", data: labels }, yAxis: { type: "value", axisLabel: { formatter: (v) => pct(v) } },
        series: [{ name: "reference", type: "bar", data: items.map((i) => i.reference_share) },
                 { name: "window", type: "bar", data: items.map((i) => i.current_share) }],
      });
    }
    panel.scrollIntoView({ block: "nearest" });
  }

  function renderPerformance(card, perf, timeAxis) {
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
    // short, so the model page stays within two screens (the estimate's two panels share it)
    const el = h("div", { class: "chart small", id: "chart-performance" });
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
      tooltip: { trigger: "axis" }, legend: { data: [...metricNames, ...(hasEstimate ? [estName, "band"] : []), "label coverage"], type: "scroll" },
      // metrics above, label coverage below, on one time axis
      grid: [{ top: 40, bottom: "38%" }, { top: "70%", bottom: 30 }],
      xAxis: [{ ...timeAxis, gridIndex: 0 }, { ...timeAxis, gridIndex: 1 }],
      yAxis: [{ type: "value", name: "metric", gridIndex: 0, scale: true }, { type: "value", name: "coverage", min: 0, max: 1, gridIndex: 1 }],
      series: [
        // Provisional windows (labels still expected) get hollow points.
        ...metricNames.map((m) => ({ name: m, type: "line", showSymbol: perf.windows.length < 50, data: perf.windows.map((w) => ({
          value: [w.window_start, (w.metrics || {})[m]], symbol: w.provisional ? "emptyCircle" : "circle" })) })),
        ...band,
        { name: "label coverage", type: "bar", xAxisIndex: 1, yAxisIndex: 1, itemStyle: { opacity: 0.35 }, data: perf.windows.map((w) => [w.window_start, w.label_coverage]) },
      ],
    });
  }

  // The model page shows a few open incidents, a line each; the incidents page lists them all, a page at a time.
  const OPEN_ON_MODEL_PAGE = 5;
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
        h("div", { class: "line" }, h("a", { href: incidentHref(model, a.id), class: "incident-link" }, h("strong", {}, a.summary)), " ",
          h("span", { class: "badge " + (a.severity === "high" ? "bad" : "warn") }, a.severity), " ",
          h("span", { class: "label" }, a.windows_flagged + " window" + (a.windows_flagged > 1 ? "s" : "") + " flagged, " + span(a)), " ", ack),
        // The top cause only, on one line: the incident's page has them all.
        (a.causes || []).length ? h("ol", { class: "causes one" }, h("li", { title: a.causes[0].message }, a.causes[0].message)) : null);
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
    // Folded: the settings are edited now and then, the charts read every day (and the page stays short).
    const card = h("details", { class: "card", id: "settings" }, h("summary", { id: "settings-toggle" },
      h("h2", {}, "Settings"), " every setting the engine reads, with its default; empty means the default"));
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

  async function featurePage(model, feature, params) {
    crumbs([["Models", "#/"], [model, "#/models/" + enc(model)], [feature, null]]);
    // Over the range it was opened with (the model page's), else the last 7 days like the model page.
    const r = rangeOf(params, Date.now());
    const dist = await optional("/v1/models/" + enc(model) + "/features/" + enc(feature) + "/distribution",
      { from: isoZ(r.from), to: isoZ(r.to), segment: r.segment });
    view.replaceChildren(h("h1", { id: "feature-name" }, feature),
      h("p", { class: "label", id: "range-label" }, when(isoZ(r.from)) + " → " + when(isoZ(r.to)) + " UTC"));
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
      if (parts[0] === "models" && parts.length === 4 && parts[2] === "features") await featurePage(parts[1], parts[3], params);
      else if (parts[0] === "models" && parts.length === 4 && parts[2] === "alerts") await incidentPage(parts[1], parts[3]);
      else if (parts[0] === "models" && parts.length === 3 && parts[2] === "alerts") {
        const status = ["open", "acknowledged", "resolved"].includes(params.get("status")) ? params.get("status") : "all";
        await incidentsPage(parts[1], status, params.get("cursor"));
      }
      else if (parts[0] === "models" && parts.length === 2) await modelPage(parts[1], params);
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
