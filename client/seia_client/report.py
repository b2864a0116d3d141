"""``seia report``: one model's drift, performance and alerts over a range, as one HTML file or JSON.

The HTML file stands alone: styles inline and plots drawn here as inline SVG, with no script and
nothing fetched, so it opens offline, attaches to a ticket and survives being mailed. Standard
library only (the client installs without pandas).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from seia_client.client import Client, _time_param

# Verdict → fill of a heat-map cell; drift is coloured by its severity.
FILLS = {"no_drift": "#cdebd3", "drift": "#e76f51", None: "#f1f3f5"}
SEVERITY_FILLS = {"low": "#f4a261", "medium": "#e76f51", "high": "#b5171f"}
BOUNDED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")  # on a 0–1 scale (r2 can go below 0)
LINE_COLOURS = ("#1d4ed8", "#c2410c", "#15803d", "#7e22ce", "#0e7490", "#a16207", "#be185d")
MAX_ALERTS_SHOWN = 100


def granularity_for(start: datetime, end: datetime) -> str:
    """Hours for a range of two days or less, days beyond (as the dashboard does)."""
    return "hour" if end - start <= timedelta(days=2) else "day"


def collect(client: Client, model: str, start: datetime, end: datetime, granularity: str | None = None) -> dict:
    """Everything the report shows, as JSON: the API's windows and alerts, and a summary."""
    granularity = granularity or granularity_for(start, end)
    definition = client.model(model)
    drift = client.drift_report(model, start=start, end=end, granularity=granularity)
    performance = client._windows(
        f"/v1/models/{_q(model)}/performance",
        {"from": _time_param(start), "to": _time_param(end), "granularity": granularity},
    )
    alerts = client.alert_list(model, status="all", start=start, end=end)
    open_alerts = [a for a in alerts if a.get("status") == "open"]
    drifting = sorted(
        {c["name"] for w in drift.get("windows") or [] for c in _columns(w) if c.get("verdict") == "drift"}
    )
    return {
        "model": model,
        "task": definition.get("task"),
        "from": _time_param(start),
        "to": _time_param(end),
        "granularity": granularity,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": {
            "drift_windows": len(drift.get("windows") or []),
            "performance_windows": len(performance.get("windows") or []),
            "drifting_columns": drifting,
            "alerts": len(alerts),
            "open_alerts": len(open_alerts),
        },
        "features": [f["name"] for f in definition.get("features") or []],
        "drift": drift.get("windows") or [],
        "performance": performance.get("windows") or [],
        "alerts": alerts,
    }


def _q(segment: str) -> str:
    from seia_client.client import _quote

    return _quote(segment)


def _columns(window: dict) -> list[dict]:
    columns = list(window.get("features") or [])
    return columns + [c for c in (window.get("prediction"), window.get("score"), window.get("label")) if c]


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _when(iso: str | None) -> str:
    """An ISO time to the minute, in UTC, for people."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else iso[:16].replace("T", " ")


def _label(iso: str | None, granularity: str) -> str:
    if not iso:
        return ""
    return iso[5:10] + (f" {iso[11:13]}h" if granularity == "hour" else "")


# -- plots -------------------------------------------------------------------------------------
def heat_map(report: dict) -> str:
    """Columns (features, then prediction, score, label) × windows, each cell its verdict."""
    windows = report["drift"]
    if not windows:
        return '<p class="empty">No drift results in this range.</p>'
    names: list[str] = list(report.get("features") or [])
    for w in windows:
        for column in _columns(w):
            if column["name"] not in names:
                names.append(column["name"])
    cell_w = max(6, min(28, 900 // len(windows)))
    cell_h, left, top = 18, 150, 8
    width = left + cell_w * len(windows) + 10
    height = top + cell_h * len(names) + 40
    out = [
        f'<svg class="plot heat-map" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="drift per column and window">'
    ]
    for row, name in enumerate(names):
        y = top + row * cell_h
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" class="axis">{_e(name)}</text>')
    every = max(1, len(windows) // 12, -(-64 // cell_w))  # labels ~60 px wide must not overlap
    for col, w in enumerate(windows):
        x = left + col * cell_w
        cells = {c["name"]: c for c in _columns(w)}
        for row, name in enumerate(names):
            c: Any = cells.get(name)  # a column's result as the API sent it (JSON), or None
            verdict: Any = c.get("verdict") if c else None
            fill = SEVERITY_FILLS.get(c.get("severity"), FILLS["drift"]) if verdict == "drift" else None
            fill = fill or FILLS.get(verdict, FILLS[None])
            tip = f"{name} · {_label(w['window_start'], report['granularity'])}: " + (
                f"{verdict.replace('_', ' ')}"
                + (f" ({c['severity']})" if c.get("severity") else "")
                + (f", {c['effect_ratio']:.2f}× the threshold of {c['driver']}" if c.get("effect_ratio") else "")
                if c
                else "no result"
            )
            out.append(
                f'<rect class="cell" data-column="{_e(name)}" data-window="{_e(w["window_start"])}" '
                f'data-verdict="{_e(verdict or "none")}" x="{x}" y="{top + row * cell_h}" width="{cell_w - 1}" '
                f'height="{cell_h - 1}" fill="{fill}"><title>{_e(tip)}</title></rect>'
            )
        if col % every == 0:
            out.append(
                f'<text x="{x}" y="{top + len(names) * cell_h + 14}" class="axis">'
                f"{_e(_label(w['window_start'], report['granularity']))}</text>"
            )
    out.append("</svg>")
    legend = " ".join(
        f'<span class="key"><i style="background:{fill}"></i>{_e(text)}</span>'
        for fill, text in [
            (FILLS["no_drift"], "no drift"),
            (SEVERITY_FILLS["low"], "drift, low"),
            (SEVERITY_FILLS["medium"], "drift, medium"),
            (SEVERITY_FILLS["high"], "drift, high"),
            (FILLS[None], "not enough rows / no result"),
        ]
    )
    return "".join(out) + f'<p class="legend">{legend}</p>'


def line_chart(title: str, labels: list[str], series: dict[str, list], *, bounded: bool, css: str) -> str:
    """A line per series (None: a gap), on 0–1 when ``bounded``, else on the values' own range."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values:
        return ""
    lo, hi = (0.0, 1.0) if bounded else (min(values), max(values))
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    width, height, left, right, top, bottom = 900, 220, 50, 150, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(labels)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    out = [
        f'<svg class="plot {css}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ced4da"/>',
    ]
    for tick in (lo, (lo + hi) / 2, hi):
        out.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="axis">{tick:.3g}</text>')
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>')
    every = max(1, n // 10, int(-(-70 * n // plot_w)))
    for i, text in enumerate(labels):
        if i % every == 0:
            out.append(f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle" class="axis">{_e(text)}</text>')
    for k, (name, vs) in enumerate(series.items()):
        colour = LINE_COLOURS[k % len(LINE_COLOURS)]
        dash = ' stroke-dasharray="5 4"' if name == "label coverage" else ""
        segment: list[str] = []
        segments = []
        for i, v in enumerate(vs):
            if v is None:
                segments.append(segment)
                segment = []
            else:
                segment.append(f"{x(i):.1f},{y(v):.1f}")
        segments.append(segment)
        for points in segments:
            if len(points) > 1:
                out.append(
                    f'<polyline class="line" data-series="{_e(name)}" points="{" ".join(points)}" '
                    f'fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
                )
        for i, v in enumerate(vs):
            if v is not None:
                out.append(
                    f'<circle class="point" data-series="{_e(name)}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" '
                    f'fill="{colour}"><title>{_e(name)} {_e(labels[i])}: {v:.4g}</title></circle>'
                )
        out.append(
            f'<text x="{left + plot_w + 10}" y="{top + 14 + 16 * k}" fill="{colour}" class="series">{_e(name)}</text>'
        )
    out.append("</svg>")
    return f"<h3>{_e(title)}</h3>" + "".join(out)


def performance_charts(report: dict) -> str:
    windows = report["performance"]
    if not windows:
        return '<p class="empty">No performance windows in this range (no ground truths yet?).</p>'
    labels = [_label(w["window_start"], report["granularity"]) for w in windows]
    names = sorted({m for w in windows for m in (w.get("metrics") or {})})
    bounded = {m: [(w.get("metrics") or {}).get(m) for w in windows] for m in names if m in BOUNDED_METRICS}
    bounded["label coverage"] = [w.get("label_coverage") for w in windows]
    charts = [line_chart("Realized performance and label coverage", labels, bounded, bounded=True, css="performance")]
    for m in names:
        if m not in BOUNDED_METRICS:
            charts.append(
                line_chart(
                    m, labels, {m: [(w.get("metrics") or {}).get(m) for w in windows]}, bounded=False, css="metric"
                )
            )
    return "".join(charts)


def alerts_table(report: dict) -> str:
    def newest_first(rows):
        return sorted(rows, key=lambda a: a.get("opened_at") or "", reverse=True)

    # Open first, then the most recent.
    alerts = newest_first([a for a in report["alerts"] if a.get("status") == "open"]) + newest_first(
        [a for a in report["alerts"] if a.get("status") != "open"]
    )
    if not alerts:
        return '<p class="empty">No alerts in this range.</p>'
    rows = []
    for a in alerts[:MAX_ALERTS_SHOWN]:
        causes = "".join(f"<li>{_e(c.get('message'))}</li>" for c in a.get("causes") or [])
        rows.append(
            f'<tr class="alert {_e(a.get("status"))}"><td>{_e((a.get("opened_at") or "")[:16].replace("T", " "))}</td>'
            f"<td>{_e(_label(a.get('first_window_start'), a.get('granularity') or report['granularity']))}"
            f"{_e(' (' + str(a['windows_flagged']) + ' flagged)') if a.get('windows_flagged') else ''}</td>"
            f'<td class="severity {_e(a.get("severity"))}">{_e(a.get("severity"))}</td>'
            f"<td>{_e(a.get('status'))}</td><td>{_e(a.get('summary'))}"
            f"{f'<ol class=causes>{causes}</ol>' if causes else ''}</td></tr>"
        )
    more = len(alerts) - MAX_ALERTS_SHOWN
    tail = f'<p class="more">and {more} more (all of them are in the --json report)</p>' if more > 0 else ""
    return (
        '<table class="alerts"><thead><tr><th>opened (UTC)</th><th>from window</th><th>severity</th><th>status</th>'
        f"<th>what happened, and probable causes</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{tail}"
    )


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#212529;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dee2e6}
h3{font-size:14px;margin:14px 0 4px}.meta{color:#6c757d}.plot{max-width:100%;height:auto;display:block}
.axis{font-size:11px;fill:#495057}.series{font-size:12px}.grid{stroke:#f1f3f5}
.legend .key{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.summary td{padding:2px 14px 2px 0}table.alerts{border-collapse:collapse;width:100%}
table.alerts th,table.alerts td{border-bottom:1px solid #e9ecef;padding:6px 8px;text-align:left;vertical-align:top}
.severity.high{color:#b5171f;font-weight:600}.severity.medium{color:#c2410c}.causes{margin:4px 0 0;color:#495057}
.empty{color:#6c757d}
"""


def render_html(report: dict) -> str:
    """The report as one HTML document: no script, no external resource."""
    s = report["summary"]
    drifting = ", ".join(s["drifting_columns"]) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Seia report: {_e(report["model"])}</title><style>{STYLE}</style></head>
<body>
<h1>Seia report: {_e(report["model"])}</h1>
<p class="meta">{_e(_when(report["from"]))} to {_e(_when(report["to"]))} UTC · {_e(report["granularity"])} windows · generated {_e(_when(report["generated_at"]))} UTC</p>
<table class="summary"><tr><td>open alerts</td><td id="open-alerts">{s["open_alerts"]}</td></tr>
<tr><td>alerts in the range</td><td>{s["alerts"]}</td></tr>
<tr><td>columns that drifted</td><td id="drifting">{_e(drifting)}</td></tr>
<tr><td>drift windows</td><td>{s["drift_windows"]}</td></tr></table>
<h2>Drift</h2>
{heat_map(report)}
<h2>Performance</h2>
{performance_charts(report)}
<h2>Alerts</h2>
{alerts_table(report)}
</body></html>
"""
