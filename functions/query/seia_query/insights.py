"""What the drift, distribution and performance routes answer, from the engine's derived rows.

Hour and day windows are read as the engine stored them (documents written by its drift step, tenant
migration 0011). ``range`` (one window over [from, to)) and distributions merge the stored daily
rollups of the whole days in the range and the hourly sketches (or statistics) of the hours at its
edges: at most 366 rollups and 46 hours, whatever the range (docs/reads.md). A model whose history
predates the rollups (before the engine's first run after the migration) is computed from its hourly
sketches, as before. No raw row is ever scanned.

Without ``from`` (and without a forward cursor), list routes return the latest windows: the newest page,
oldest first within it, and a ``next_cursor`` to the page before it.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from seia import stats
from seia.errors import Detail, NotFound, ValidationFailed
from seia.jsonutil import RawJSON, finite
from seia.registry import REGISTRY
from seia.repositories.drift import DriftReadRepository, Page
from seia.repositories.multivariate import MultivariateReadRepository
from seia.rollups import unpack_counts, wide
from seia.schema import Model
from seia.sparse import sparse
from seia.stats import reconstruction
from seia.timeutil import parse_query_time, parse_rfc3339

UTC = UTC
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
# The longest range one window (granularity=range, a distribution) may cover: 366 daily rollups.
MAX_RANGE_DAYS = 366
MAX_RANGE = timedelta(days=MAX_RANGE_DAYS)
BEFORE = "before:"
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


def _pager(params: dict, start: datetime | None, end: datetime | None) -> Page:
    """The page a list route reads: the latest windows unless ``from`` or a forward cursor says otherwise."""
    limit, raw = _limit(params), params.get("cursor")
    try:
        if raw in (None, ""):
            if start is None:
                return Page(limit, latest=True, before=end or END_OF_TIME)
            return Page(limit, latest=False, after=BEGINNING - DAY)
        if raw.startswith(BEFORE):
            return Page(limit, latest=True, before=parse_rfc3339(raw[len(BEFORE) :]))
        return Page(limit, latest=False, after=parse_rfc3339(raw))
    except (ValueError, AttributeError):
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


def _page(items: list, page: Page, key) -> tuple[list, str | None]:
    """The page's windows in time order and the cursor of the next page (None at the end); ``items``
    as read: one more than the page when there is more, newest first for the latest windows."""
    more = len(items) > page.limit
    items = items[: page.limit]
    if page.latest:
        items.reverse()
        return items, (BEFORE + cast("str", key(items[0]))) if more else None
    return items, key(items[-1]) if more else None


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
        "multivariate": None,  # set by _multivariate when the reference has a reconstruction fit
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


def _judge(currents: dict, bins: dict, refs: dict, thresholds: stats.Thresholds) -> tuple[int, list[tuple[str, dict]]]:
    """Drift statistics and verdicts of one window's merged sketches against the reference."""
    drifts = {feature: stats.column_drift(refs[feature], cur) for feature, cur in currents.items()}
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


def _multivariate(conn, model: Model, spans: list[tuple[datetime, datetime]], thresholds) -> dict[datetime, dict]:
    """The multivariate column of each window [start, end): the engine's hourly error sketches merged and
    judged against the reference's band (the same pure-Python functions the engine judges with)."""
    repo = MultivariateReadRepository(conn)
    fit = repo.fit(model.id) if spans else None
    if fit is None:
        return {}
    hours = repo.hours(model.id, spans[0][0], spans[-1][1])
    out = {}
    for start, end in spans:
        merged = reconstruction.merge(s for h, s in hours if start <= h < end)
        v = reconstruction.judge(fit, merged, thresholds.min_rows, thresholds.medium_factor, thresholds.high_factor)
        out[start] = {
            "name": "multivariate",
            "kind": "multivariate",
            "type": "multivariate",
            "rows": int(merged["n"]) if merged else 0,
            "rows_reference": int(fit["reference"]["n"]),
            "verdict": v.verdict,
            "severity": v.severity,
            "signals": ["reconstruction_error"] if v.verdict == "drift" else [],
            "driver": "reconstruction_error",
            "effect_ratio": finite(v.effect_ratio),
            "statistics": _numbers(v.statistics),
        }
    return out


def _merge_by_window(rows, bins: dict, window_of) -> dict[datetime, dict[str, list[dict]]]:
    """The stored hourly sketches of each window and feature (merged by :func:`_sketch`)."""
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


# -- ranges: daily rollups of the whole days, hourly rows at the edges ----------------------------------
def _floor_day(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, t.day, tzinfo=UTC)


def _ceil(t: datetime, unit: timedelta) -> datetime:
    t = t.astimezone(UTC)
    floor = _floor_day(t) if unit == DAY else t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + unit


def _spans(lo: datetime, hi: datetime) -> tuple[list[tuple[datetime, datetime]], tuple[datetime, datetime] | None]:
    """The hours of [lo, hi) as (hour spans at the edges, the span of whole days between them)."""
    lo_h, hi_h = _ceil(lo, HOUR), _ceil(hi, HOUR)
    d0, d1 = _ceil(lo_h, DAY), _floor_day(hi_h)
    if d0 >= d1:
        return [(lo_h, max(lo_h, hi_h))], None
    return [(lo_h, d0), (d1, hi_h)], (d0, d1)


def _bounded(start, end, first, last) -> tuple[datetime | None, datetime | None]:
    """[from, to) of a range or distribution: a missing bound from the data's extent, ``from`` no earlier
    than MAX_RANGE_DAYS before ``to``; an explicit range longer than that is a 400."""
    if start is not None and end is not None and end - start > MAX_RANGE:
        raise _too_long("to")
    if first is None:
        return start, end
    hi = end or last.astimezone(UTC) + HOUR
    lo = start or max(first.astimezone(UTC), hi - MAX_RANGE)
    if hi - lo > MAX_RANGE:
        raise _too_long("from")
    return lo, max(lo, hi)


def _too_long(field: str) -> ValidationFailed:
    return ValidationFailed(
        "range too long",
        [Detail(None, field, f"a range covers at most {MAX_RANGE_DAYS} days (MAX_RANGE_DAYS); split it or use days")],
    )


def _hour_numeric(data: dict) -> tuple[Any, Any, int, float, float]:
    """(non-empty bins, their counts, values, mean, M2) of a stored hourly numeric sketch, any stored form."""
    if "bins" in data:
        bins, counts = data["bins"], data["bin_counts"]
    else:
        bins, counts = sparse(data["counts"])
    k = sum(counts)
    if not k:
        return bins, counts, 0, 0.0, 0.0
    if "m2" in data:
        return bins, counts, k, float(data["mean"]), float(data["m2"])
    mean = float(data.get("total") or 0.0) / k  # a legacy sketch's sums (see seia.stats.sketches)
    return bins, counts, k, mean, max(0.0, float(data.get("total_sq") or 0.0) - mean * k * mean)


class _Merged:
    """One feature's sketch over a range, merged in time order from hourly sketches and daily rollups."""

    def __init__(self) -> None:
        self.total = self.n = self.missing = 0
        self.mean = self.m2 = 0.0
        self.lo: float | None = None
        self.hi: float | None = None
        self.categories: dict[str, int] | None = None
        self.hourly: dict[int, int] = {}  # the edge hours' counts by bin (a day's come as one integer)

    def add_hour(self, bins, counts) -> None:
        hourly = self.hourly
        for b, c in zip(bins, counts):
            hourly[b] = hourly.get(b, 0) + c

    def add_numeric(self, total: int, k: int, mean: float, m2: float, lo, hi, missing: int) -> None:
        self.total += total
        self.missing += int(missing or 0)
        if k:
            self.mean, self.m2 = stats.merge_moments(self.n, self.mean, self.m2, k, mean, m2)
            self.n += k
            self.lo = lo if self.lo is None else min(self.lo, lo)
            self.hi = hi if self.hi is None else max(self.hi, hi)

    def add_categorical(self, counts: dict[str, int], missing: int) -> None:
        into = self.categories if self.categories is not None else {}
        for key, value in counts.items():
            into[key] = into.get(key, 0) + value
        self.categories = into
        self.missing += int(missing or 0)

    def sketch(self, b) -> stats.NumericSketch | stats.CategoricalSketch:
        if b.kind == "numeric":
            counts = unpack_counts(self.total, len(b.edges) + 1)
            for i, c in self.hourly.items():
                counts[i] += c
            return stats.NumericSketch(
                tuple(b.edges), tuple(counts), self.missing, self.mean, self.m2, self.lo, self.hi
            )
        return stats.CategoricalSketch(self.categories or {}, self.missing)


def _merged(repo: DriftReadRepository, model_id: int, bins: dict, lo, hi, feature: str | None = None) -> dict:
    """{feature: its sketch over [lo, hi)} of the features with data there: whole days from their rollups,
    the hours at the edges (or every hour, for a history without rollups) from their hourly sketches."""
    edges, days = _spans(lo, hi)
    if days is not None and not repo.has_rollups(model_id):
        edges, days = [(edges[0][0], edges[1][1])], None
    merged: dict[str, _Merged] = {}

    def add_hours(a: datetime, b: datetime) -> None:
        if a >= b:
            return
        for _, name, data in repo.stored_sketches(model_id, a, b, feature):
            if name not in bins:
                continue
            m = merged.setdefault(name, _Merged())
            if bins[name].kind == "numeric":
                bins_h, counts_h, k, mean, m2 = _hour_numeric(data)
                m.add_hour(bins_h, counts_h)
                m.add_numeric(0, k, mean, m2, data.get("min"), data.get("max"), data.get("missing"))
            else:
                m.add_categorical(data["counts"], data.get("missing"))

    add_hours(*edges[0])
    if days is not None:
        for _, name, kind, missing, n, mean, m2, lo_v, hi_v, counts, categories in repo.rollups(
            model_id, days[0], days[1], feature
        ):
            if name not in bins:
                continue
            m = merged.setdefault(name, _Merged())
            if kind == "numeric":
                m.add_numeric(wide(counts), n, mean, m2, lo_v, hi_v, missing)
            else:
                m.add_categorical(categories, missing)
        add_hours(*edges[1])
    return {name: m.sketch(bins[name]) for name, m in merged.items()}


def drift(conn, model: Model, params: dict) -> dict:
    granularity = _granularity(params, model, ("hour", "day", "range"))
    start, end = _range(params)
    page = _pager(params, start, end)
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
    if granularity != "range" and repo.has_stored(model.id, granularity):
        windows, body["next_cursor"] = _page(
            repo.stored_windows_json(model.id, granularity, lo, hi, page), page, lambda w: _iso(w[0])
        )
        body["windows"] = RawJSON("[" + ",".join(text for _, text in windows) + "]")
        return body
    bins = repo.features(model.id)
    thresholds = stats.Thresholds.from_settings(model.settings)
    refs = _references(bins)
    if granularity == "range":
        lo, hi = _bounded(start, end, *repo.sketch_extent(model.id))
        if lo is None or hi is None or params.get("cursor"):
            return body
        currents = _merged(repo, model.id, bins, lo, hi)
        if currents:
            rows, columns = _judge(currents, bins, refs, thresholds)
            body["windows"] = [_window(lo, hi, rows, columns)]
            body["windows"][0]["multivariate"] = _multivariate(conn, model, [(lo, hi)], thresholds).get(lo)
        body["from"], body["to"] = _iso(lo), _iso(hi)
        return body
    # Not stored yet (a history from before tenant migration 0011, until the engine's next run): the
    # windows are computed from the hourly sketches.
    starts, body["next_cursor"] = _page(repo.sketch_windows(model.id, granularity, lo, hi, page), page, _iso)
    if not starts:
        return body
    by_window = _merge_by_window(
        repo.sketches(model.id, starts[0], _window_end(starts[-1], granularity)),
        bins,
        lambda h: _window_start(h, granularity),
    )
    multivariate = _multivariate(conn, model, [(w, _window_end(w, granularity)) for w in starts], thresholds)
    for w in starts:
        currents = {f: _sketch(bins[f], items) for f, items in by_window.get(w, {}).items()}
        rows, columns = _judge(currents, bins, refs, thresholds)
        body["windows"].append(_window(w, _window_end(w, granularity), rows, columns))
        body["windows"][-1]["multivariate"] = multivariate.get(w)
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
    lo, hi = _bounded(start, end, *repo.sketch_extent(model.id))
    found = {}
    if lo is not None and hi is not None:
        found = _merged(repo, model.id, {feature: b}, lo, hi, feature)
        body["from"], body["to"] = _iso(lo), _iso(hi)
    ref = _references({feature: b})[feature]
    cur = found.get(feature) or _sketch(b, [])
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


def _performance_sums(repo: DriftReadRepository, model_id: int, lo, hi, window_of) -> dict[datetime, list]:
    """{window: [rows, labeled, statistics]} of the hourly statistics in [lo, hi), merged per window."""
    sums: dict[datetime, list] = {}
    for hour, rows, labeled, hour_stats in repo.performance_hours(model_id, lo, hi):
        acc = sums.setdefault(window_of(hour), [0, 0, None])
        acc[0], acc[1], acc[2] = acc[0] + rows, acc[1] + labeled, stats.performance.merge(acc[2], hour_stats)
    return sums


def _performance_range(repo: DriftReadRepository, model_id: int, lo, hi) -> list | None:
    """[rows, labeled, statistics] over [lo, hi) (None without data): whole days from the daily
    statistics, the hours at the edges (or every hour, for a history without them) from the hourly ones."""
    edges, days = _spans(lo, hi)
    if days is not None and not repo.has_performance_days(model_id):
        edges, days = [(edges[0][0], edges[1][1])], None
    parts = [_performance_sums(repo, model_id, *edges[0], lambda h: lo).get(lo)]
    if days is not None:
        total: list[Any] | None = None
        for _, rows, labeled, day_stats in repo.performance_days(model_id, *days):
            total = total or [0, 0, None]
            total[0], total[1] = total[0] + rows, total[1] + labeled
            total[2] = stats.performance.merge(total[2], day_stats)
        parts += [total, _performance_sums(repo, model_id, *edges[1], lambda h: lo).get(lo)]
    found = [p for p in parts if p is not None]
    if not found:
        return None
    out: list[Any] = [0, 0, None]
    for rows, labeled, part_stats in found:
        out[0], out[1], out[2] = out[0] + rows, out[1] + labeled, stats.performance.merge(out[2], part_stats)
    return out


def performance(conn, model: Model, params: dict) -> dict:
    granularity = _granularity(params, model, ("hour", "day", "range"))
    start, end = _range(params)
    page = _pager(params, start, end)
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

    @functools.cache
    def estimation_fit() -> dict[str, Any] | None:
        """The reference's calibration: read once, and only when a window is merged here."""
        reference = repo.reference(model.id)
        return ((reference.performance or {}) if reference else {}).get("estimation")

    def shown(w, end_w, rows, labeled, window_stats) -> dict:
        coverage = labeled / rows if rows else None
        provisional = coverage is None or coverage < coverage_threshold
        metrics = stats.performance.metrics(window_stats)
        estimated = stats.estimation.estimate(stats.performance.split(window_stats)[1], estimation_fit(), model.task)
        if estimated is not None:
            metrics["estimated"] = estimated
        return _performance_window(w, end_w, rows, labeled, coverage, provisional, metrics)

    if granularity == "range":
        lo, hi = _bounded(start, end, *repo.performance_extent(model.id))
        if lo is None or hi is None or params.get("cursor"):
            return body
        body["from"], body["to"] = _iso(lo), _iso(hi)
        total = _performance_range(repo, model.id, lo, hi)
        if total is not None:
            body["windows"] = [shown(lo, hi, *total)]
        return body
    if repo.has_stored(model.id, granularity):
        rows, body["next_cursor"] = _page(
            repo.stored_performance(model.id, granularity, lo, hi, page), page, lambda w: _iso(w.window_start)
        )
        body["windows"] = [
            _performance_window(
                w.window_start, w.window_end, w.predictions, w.labeled, w.coverage, w.provisional, w.metrics
            )
            for w in rows
        ]
        return body
    # Not stored yet (a history from before tenant migration 0011): computed from the hourly statistics.
    starts, body["next_cursor"] = _page(repo.performance_windows(model.id, granularity, lo, hi, page), page, _iso)
    if not starts:
        return body
    sums = _performance_sums(
        repo, model.id, starts[0], _window_end(starts[-1], granularity), lambda h: _window_start(h, granularity)
    )
    body["windows"] = [shown(w, _window_end(w, granularity), *sums[w]) for w in starts if w in sums]
    return body
