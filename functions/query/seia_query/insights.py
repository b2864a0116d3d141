"""What the drift, distribution and performance routes answer, from the engine's derived rows.

Windows at the model's evaluation granularity are read as the engine stored them; any other
granularity (and ``range``, one window over [from, to)) is computed from the stored hourly
sketches and performance statistics with the statistics core, :mod:`seia.stats`. No raw row is ever scanned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from seia import stats
from seia.errors import Detail, NotFound, ValidationFailed
from seia.jsonutil import RawJSON, finite
from seia.registry import REGISTRY
from seia.repositories.drift import DriftReadRepository
from seia.schema import Model
from seia.timeutil import parse_query_time, parse_rfc3339

UTC = UTC
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
DISTRIBUTION_BINS = 20
MAX_CATEGORIES = 50
VIRTUAL = {
    "__prediction__": ("prediction", "prediction"),
    "__score__": ("score", "prediction"),
    "__label__": ("label", "label"),
}


# -- parameters -----------------------------------------------------------------------------------------
def _granularity(params: dict, model: Model, allowed: tuple[str, ...]) -> str:
    value = params.get("granularity") or REGISTRY.value(model.settings, "window")
    if value not in allowed:
        raise ValidationFailed(
            "invalid granularity", [Detail(None, "granularity", f"must be one of {', '.join(allowed)}")]
        )
    return value


def _range(params: dict) -> tuple[datetime | None, datetime | None]:
    start, end = parse_query_time(params.get("from"), "from"), parse_query_time(params.get("to"), "to")
    if start and end and end <= start:
        raise ValidationFailed("empty range", [Detail(None, "to", "must be after from")])
    return start, end


def _limit(params: dict) -> int:
    raw = params.get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not _ascii_digits(raw, 10) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed("invalid limit", [Detail(None, "limit", f"must be an integer from 1 to {MAX_LIMIT}")])
    return int(raw)


def _ascii_digits(raw, max_length: int) -> bool:
    """0-9 only: str.isdigit also takes '²' and '١', which int() then refuses or reads as another number."""
    return isinstance(raw, str) and 0 < len(raw) <= max_length and raw.isascii() and raw.isdigit()


def _time_cursor(params: dict) -> datetime:
    raw = params.get("cursor")
    if raw in (None, ""):
        return BEGINNING - DAY
    try:
        return parse_rfc3339(raw)
    except ValueError:
        raise ValidationFailed(
            "invalid cursor", [Detail(None, "cursor", "pass next_cursor of the previous page")]
        ) from None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _window_start(hour: datetime, granularity: str) -> datetime:
    hour = hour.astimezone(UTC)
    return hour.replace(hour=0) if granularity == "day" else hour


def _window_end(start: datetime, granularity: str) -> datetime:
    return start + (DAY if granularity == "day" else HOUR)


def _numbers(stats: dict) -> dict:
    """The statistics the API shows: numbers only, NaN and infinities as null."""
    return {
        k: None if v is None else finite(float(v))
        for k, v in stats.items()
        if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
    }


def _page(items: list, limit: int, key) -> tuple[list, str | None]:
    if len(items) > limit:
        items = items[:limit]
        return items, key(items[-1])
    return items, None


# -- drift ----------------------------------------------------------------------------------------------
def _column(
    feature: str,
    kind: str,
    source: str | None,
    rows: int,
    verdict: str,
    severity,
    signals,
    driver,
    effect_ratio,
    stats: dict,
) -> tuple[str, dict]:
    name, role = VIRTUAL.get(feature, (feature, "feature"))
    if source in ("prediction", "score", "label") and feature not in VIRTUAL:
        role = "label" if source == "label" else "prediction"
    slot = {"__prediction__": "prediction", "__score__": "score", "__label__": "label"}.get(feature, "features")
    return slot, {
        "name": name,
        "kind": role,
        "type": kind,
        "rows": int(rows),
        "rows_reference": int(stats.get("rows_ref") or 0),
        "verdict": verdict,
        "severity": severity,
        "signals": list(signals or ()),
        "driver": driver,
        "effect_ratio": finite(effect_ratio),
        "statistics": _numbers(stats),
    }


def _window(start: datetime, end: datetime, rows: int, columns: list[tuple[str, dict]], computed_at=None) -> dict:
    out: dict[str, Any] = {
        "window_start": _iso(start),
        "window_end": _iso(end),
        "rows": int(rows),
        "features": [],
        "prediction": None,
        "score": None,
        "label": None,
        "computed_at": _iso(computed_at),
    }
    for slot, column in columns:
        if slot == "features":
            out["features"].append(column)
        else:
            out[slot] = column
    return out


def _sketch(b, items: list[dict]) -> stats.NumericSketch | stats.CategoricalSketch:
    """One sketch of a feature's stored hourly sketches, merged."""
    if b.kind == "numeric":
        return stats.merge_dicts(items, b.edges) if items else stats.NumericSketch.empty(b.edges)
    return stats.merge_categorical_dicts(items)


def _judge(
    merged: dict[str, list[dict]], bins: dict, refs: dict, thresholds: stats.Thresholds
) -> tuple[int, list[tuple[str, dict]]]:
    """Drift statistics and verdicts of one window's hourly sketches against the reference."""
    drifts, currents = {}, {}
    for feature, items in merged.items():
        currents[feature] = _sketch(bins[feature], items)
        drifts[feature] = stats.column_drift(refs[feature], currents[feature])
    verdicts = stats.judge_window(drifts, thresholds)
    columns = []
    for feature, v in verdicts.items():
        d = drifts[feature]
        statistics = stats.drift_statistics(d, refs[feature], currents[feature])
        statistics.update(distribution_qvalue=v.distribution_qvalue, missing_qvalue=v.missing_qvalue)
        columns.append(
            _column(
                feature,
                bins[feature].kind,
                bins[feature].source,
                d.rows_cur,
                v.verdict,
                v.severity,
                v.signals,
                v.driver,
                v.effect_ratio,
                statistics,
            )
        )
    rows = max((d.rows_cur for f, d in drifts.items() if bins[f].source != "label"), default=0)
    return rows, columns


def _merge_by_window(rows, bins: dict, window_of) -> dict[datetime, dict[str, list[dict]]]:
    """The stored hourly sketches of each window and feature (merged by :func:`_judge`)."""
    out: dict[datetime, dict[str, list[dict]]] = {}
    for hour, feature, sketch in rows:
        if feature not in bins:
            continue
        out.setdefault(window_of(hour), {}).setdefault(feature, []).append(sketch)
    return out


def _references(bins: dict) -> dict:
    return {
        f: stats.NumericSketch.from_dict(b.reference, b.edges)
        if b.kind == "numeric"
        else stats.CategoricalSketch.from_dict(b.reference)
        for f, b in bins.items()
    }


def _stored(repo: DriftReadRepository, model: Model, granularity: str) -> bool:
    """Read the engine's windows when it evaluates this granularity and has stored some (right after a
    change of settings.window it has not yet: derive them from the hourly sketches meanwhile)."""
    return granularity == REGISTRY.value(model.settings, "window") and repo.has_stored(model.id, granularity)


def _extent(start, end, first, last) -> tuple[datetime | None, datetime | None]:
    """[from, to), with a missing bound taken from the data's first and last hour."""
    if first is None:
        return start, end
    lo, hi = start or first.astimezone(UTC), end or last.astimezone(UTC) + HOUR
    return lo, max(lo, hi)


def drift(conn, model: Model, params: dict) -> dict:
    granularity = _granularity(params, model, ("hour", "day", "range"))
    start, end = _range(params)
    limit, after = _limit(params), _time_cursor(params)
    repo = DriftReadRepository(conn)
    reference = repo.reference(model.id)
    body: dict[str, Any] = {
        "model": model.name,
        "granularity": granularity,
        "from": _iso(start),
        "to": _iso(end),
        "reference": _reference(reference),
        "windows": [],
        "next_cursor": None,
    }
    if reference is None:
        return body
    lo: datetime | None
    hi: datetime | None
    lo, hi = start or BEGINNING, end or END_OF_TIME
    if granularity != "range" and _stored(repo, model, granularity):
        windows, body["next_cursor"] = _page(
            repo.stored_windows_json(model.id, granularity, lo, hi, after, limit + 1), limit, lambda w: _iso(w[0])
        )
        body["windows"] = RawJSON("[" + ",".join(text for _, text in windows) + "]")
        return body
    bins = repo.features(model.id)
    thresholds = stats.Thresholds.from_settings(model.settings)
    refs = _references(bins)
    if granularity == "range":
        lo, hi = _extent(start, end, *repo.sketch_extent(model.id))
        if lo is None or hi is None or params.get("cursor"):
            return body
        merged = _merge_by_window(repo.sketches(model.id, lo, hi), bins, lambda h: lo)
        if merged:
            rows, columns = _judge(merged[lo], bins, refs, thresholds)
            body["windows"] = [_window(lo, hi, rows, columns)]
        body["from"], body["to"] = _iso(lo), _iso(hi)
        return body
    starts, body["next_cursor"] = _page(
        repo.sketch_windows(model.id, granularity, lo, hi, after, limit + 1), limit, _iso
    )
    if not starts:
        return body
    merged = _merge_by_window(
        repo.sketches(model.id, starts[0], _window_end(starts[-1], granularity)),
        bins,
        lambda h: _window_start(h, granularity),
    )
    for w in starts:
        rows, columns = _judge(merged.get(w, {}), bins, refs, thresholds)
        body["windows"].append(_window(w, _window_end(w, granularity), rows, columns))
    return body


def _reference(row) -> dict | None:
    if row is None:
        return None
    version = row.reference_key.split(":", 1)[1] if row.reference_key.startswith("uploaded:") else None
    return {
        "version": int(version) if version and version.isdigit() else None,
        "source": row.source,
        "rows": int(row.rows),
    }


# -- distribution ---------------------------------------------------------------------------------------
def distribution(conn, model: Model, feature: str, params: dict) -> dict:
    names = {f.name: f.type for f in model.features}
    if feature not in names and feature not in VIRTUAL:
        raise NotFound(f"feature {str(feature)[:64]!r} not found in model {model.name!r}")
    start, end = _range(params)
    repo = DriftReadRepository(conn)
    reference = repo.reference(model.id)
    bins = repo.features(model.id)
    b = bins.get(feature)
    kind = b.kind if b else names.get(feature, "categorical")
    body: dict[str, Any] = {
        "model": model.name,
        "feature": feature,
        "type": kind,
        "from": _iso(start),
        "to": _iso(end),
        "reference": {"rows": 0, "missing": 0, "version": None},
        "current": {"rows": 0, "missing": 0},
        "bins": [],
        "categories": [],
    }
    if b is None or reference is None:
        return body
    lo, hi = _extent(start, end, *repo.sketch_extent(model.id))
    items = []
    if lo is not None:
        items = [sketch for _, _, sketch in repo.sketches(model.id, lo, hi, feature)]
        body["from"], body["to"] = _iso(lo), _iso(hi)
    ref = _references({feature: b})[feature]
    cur = _sketch(b, items)
    n_ref, n_cur = ref.n, cur.n
    stored = _reference(reference)
    assert stored is not None  # reference is not None (returned above when it is)
    body["reference"] = {"rows": ref.rows, "missing": ref.missing, "version": stored["version"]}
    body["current"] = {"rows": cur.rows, "missing": cur.missing}
    share = lambda c, n: c / n if n else None  # noqa: E731
    if kind == "numeric":
        assert isinstance(cur, stats.NumericSketch)  # kind is b.kind: _sketch merged numeric sketches
        if n_ref:
            starts = stats.coarse_starts(ref.counts, DISTRIBUTION_BINS)
            rc, cc = stats.group_counts(ref.counts, starts), stats.group_counts(cur.counts, starts)
            edges = cast("list[float]", b.edges)  # a numeric feature's bins have edges
            bounds = [*starts, len(ref.counts)]
            for i, (r, c) in enumerate(zip(rc, cc)):
                lower = edges[bounds[i] - 1] if i > 0 else None
                upper = edges[bounds[i + 1] - 1] if i < len(rc) - 1 else None
                body["bins"].append(
                    {
                        "lower": lower,
                        "upper": upper,
                        "reference_share": share(r, n_ref),
                        "current_share": share(c, n_cur),
                    }
                )
    else:
        assert isinstance(cur, stats.CategoricalSketch)  # kind is b.kind: _sketch merged categorical sketches
        rcounts, ccounts = ref.counts, cur.counts
        order = sorted(set(rcounts) | set(ccounts), key=lambda k: (-rcounts.get(k, 0), -ccounts.get(k, 0), k))
        shown, rest = order[:MAX_CATEGORIES], order[MAX_CATEGORIES:]
        for k in shown:
            body["categories"].append(
                {
                    "category": k,
                    "reference_share": share(rcounts.get(k, 0), n_ref),
                    "current_share": share(ccounts.get(k, 0), n_cur),
                    "unseen": k not in rcounts,
                }
            )
        if rest:
            body["categories"].append(
                {
                    "category": f"(other: {len(rest)})",
                    "unseen": all(k not in rcounts for k in rest),
                    "reference_share": share(sum(rcounts.get(k, 0) for k in rest), n_ref),
                    "current_share": share(sum(ccounts.get(k, 0) for k in rest), n_cur),
                }
            )
    return body


# -- performance ----------------------------------------------------------------------------------------
def _estimated(estimated: dict | None) -> dict | None:
    """The window's estimated metrics (:mod:`seia.stats.estimation`) as the API shows them."""
    if not estimated:
        return None
    return {
        "rows": int(estimated["n"]),
        "metrics": {
            k: {f: finite(v.get(f)) for f in ("value", "lower", "upper", "sampling_error")}
            for k, v in estimated.items()
            if isinstance(v, dict)
        },
    }


def _performance_window(start, end, predictions, labeled, coverage, provisional, metrics) -> dict:
    return {
        "window_start": _iso(start),
        "window_end": _iso(end),
        "predictions": int(predictions),
        "labelled": int(labeled),
        "label_coverage": finite(coverage),
        "provisional": bool(provisional),
        "metrics": {
            k: finite(v)
            for k, v in (metrics or {}).items()
            if k not in ("n", "scored") and (isinstance(v, (int, float)) or v is None)
        },
        "estimated": _estimated((metrics or {}).get("estimated")),
    }


def performance(conn, model: Model, params: dict) -> dict:
    granularity = _granularity(params, model, ("hour", "day", "range"))
    start, end = _range(params)
    limit, after = _limit(params), _time_cursor(params)
    repo = DriftReadRepository(conn)
    coverage_threshold = float(REGISTRY.value(model.settings, "coverage_threshold"))
    body: dict[str, Any] = {
        "model": model.name,
        "task": model.task,
        "granularity": granularity,
        "from": _iso(start),
        "to": _iso(end),
        "windows": [],
        "next_cursor": None,
    }
    lo: datetime | None
    hi: datetime | None
    lo, hi = start or BEGINNING, end or END_OF_TIME
    if _stored(repo, model, granularity):
        rows, body["next_cursor"] = _page(
            repo.stored_performance(model.id, granularity, lo, hi, after, limit + 1),
            limit,
            lambda w: _iso(w.window_start),
        )
        body["windows"] = [
            _performance_window(
                w.window_start, w.window_end, w.predictions, w.labeled, w.coverage, w.provisional, w.metrics
            )
            for w in rows
        ]
        return body
    if granularity == "range":
        lo, hi = _extent(start, end, *repo.performance_extent(model.id))
        if lo is None or params.get("cursor"):
            return body
        starts, window_of = [lo], (lambda h: lo)
        body["from"], body["to"] = _iso(lo), _iso(hi)
    else:
        starts, body["next_cursor"] = _page(
            repo.performance_windows(model.id, granularity, lo, hi, after, limit + 1), limit, _iso
        )
        if not starts:
            return body
        lo, hi = starts[0], _window_end(starts[-1], granularity)
        window_of = lambda h: _window_start(h, granularity)  # noqa: E731
    reference = repo.reference(model.id)
    fit = ((reference.performance or {}) if reference else {}).get("estimation")
    sums: dict[datetime, list] = {}
    for hour, rows, labeled, hour_stats in repo.performance_hours(model.id, lo, hi):
        acc = sums.setdefault(window_of(hour), [0, 0, None])
        acc[0], acc[1], acc[2] = acc[0] + rows, acc[1] + labeled, stats.performance.merge(acc[2], hour_stats)
    for w in starts:
        if w not in sums:
            continue
        rows, labeled, window_stats = sums[w]
        coverage = labeled / rows if rows else None
        end_w = hi if granularity == "range" else _window_end(w, granularity)
        window_metrics = stats.performance.metrics(window_stats)
        estimated = stats.estimation.estimate(stats.performance.split(window_stats)[1], fit, model.task)
        if estimated is not None:
            window_metrics["estimated"] = estimated
        body["windows"].append(
            _performance_window(
                w,
                end_w,
                rows,
                labeled,
                coverage,
                coverage is None or coverage < coverage_threshold,
                window_metrics,
            )
        )
    return body
