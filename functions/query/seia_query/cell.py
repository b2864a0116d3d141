"""One cell of the drift heat map: a column (feature, score, prediction or label) in one window.

What ``GET /v1/models/{model}/drift/{feature}?window_start=...`` answers: the reference and current
distributions over the window, the column's statistics and verdict there, and the incidents of
that column (or ranked with it as a cause) whose windows cover it, with their causes. Read-only, and
built from the same reads as the drift and distribution routes, so the three never disagree.
"""

from __future__ import annotations

import json
from typing import Any

from seia.errors import Detail, NotFound, ValidationFailed
from seia.registry import REGISTRY
from seia.repositories.incidents import IncidentReadRepository
from seia.schema import Model
from seia.timeutil import parse_query_time
from seia_query import insights
from seia_query.incidents import _cause

# the heat map's names of the engine's own columns, and the keys the engine stores them under
COLUMN_KEYS = {v[0]: k for k, v in insights.VIRTUAL.items()}
MAX_INCIDENTS = 10


def _key(model: Model, column: str) -> str:
    """The stored key of a column: a feature's name, or __score__ / __prediction__ / __label__."""
    if column in insights.VIRTUAL or any(f.name == column for f in model.features):
        return column
    raise NotFound(f"column {str(column)[:64]!r} not found in model {model.name!r}")


def _window(params: dict, model: Model) -> tuple[str, Any, Any]:
    granularity = params.get("granularity") or REGISTRY.value(model.settings, "window")
    if granularity not in ("hour", "day"):
        raise ValidationFailed("invalid granularity", [Detail(None, "granularity", "must be hour or day")])
    start = parse_query_time(params.get("window_start"), "window_start")
    if start is None:
        raise ValidationFailed(
            "window_start is required", [Detail(None, "window_start", "the window's start, RFC 3339 with an offset")]
        )
    start = start.astimezone(insights.UTC)
    if start != insights._window_start(start, granularity) or start.minute or start.second or start.microsecond:
        raise ValidationFailed(
            "window_start is not a window's start",
            [Detail(None, "window_start", f"must start a UTC {granularity} (e.g. {start:%Y-%m-%dT%H}:00:00Z)")],
        )
    return granularity, start, insights._window_end(start, granularity)


def drift_cell(conn, model: Model, column: str, params: dict) -> dict:
    key = _key(model, column)
    granularity, start, end = _window(params, model)
    bounds = {"from": insights._iso(start), "to": insights._iso(end)}
    dist = insights.distribution(conn, model, key, bounds)
    report = insights.drift(conn, model, {**bounds, "granularity": granularity, "limit": "1"})
    windows = report["windows"]
    if isinstance(windows, str):  # stored windows come as JSON text (RawJSON)
        windows = json.loads(windows)
    name, role = insights.VIRTUAL.get(key, (key, "feature"))
    result = None
    for w in windows:
        for c in [*w["features"], w.get("prediction"), w.get("score"), w.get("label")]:
            if c and c["name"] == name and (c["kind"] == "feature") == (role == "feature"):
                result = c
    repo = IncidentReadRepository(conn)
    rows = repo.page(model.id, None, start, end, None, 200)
    causes = repo.causes([i.id for i in rows]) if rows else {}
    related = [i for i in rows if i.subject == key or any(c.feature == key for c in causes.get(i.id, []))][
        :MAX_INCIDENTS
    ]
    return {
        "model": model.name,
        "column": name,
        "kind": role,
        "type": dist["type"],
        "granularity": granularity,
        "window_start": bounds["from"],
        "window_end": bounds["to"],
        "reference": dist["reference"],
        "current": dist["current"],
        "bins": dist["bins"],
        "categories": dist["categories"],
        "result": result,
        "incidents": [
            {
                "id": str(i.id),
                "kind": i.kind,
                "subject": i.subject,
                "condition": i.condition,
                "status": i.status,
                "severity": i.severity,
                "summary": i.summary,
                "first_window_start": insights._iso(i.first_window_start),
                "last_window_end": insights._iso(i.last_window_end),
                "causes": [_cause(c) for c in causes.get(i.id, [])],
            }
            for i in related
        ],
    }
