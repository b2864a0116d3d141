"""Drift per window: merge the window's hourly sketches, compare with the reference, judge.

Every changed hour is judged as an hour window and its day as a day window, whatever the model's
evaluation window (settings.window, which alerts follow): the query API reads both as stored rows. The
day's merged sketches are kept as its rollup (drift_rollups), which a range query merges instead of hours.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from operator import add
from typing import Any, cast

from seia.jsonutil import finite as clean
from seia.sparse import unpack_sketch
from seia_drift.repositories.reference import FeatureBins
from seia_drift.repositories.results import FeatureResult, ResultRepository
from seia_drift.repositories.sketches import SketchRepository
from seia_drift.repositories.state import Watermark
from seia_drift.stats import (
    CategoricalDrift,
    CategoricalSketch,
    NumericDrift,
    NumericSketch,
    categorical_drift,
    drift_statistics,
    judge_window,
    merge_categorical_dicts,
    merge_dicts,
    merge_moments,
    numeric_drift,
)
from seia_drift.steps.base import Context, Step

INSUFFICIENT, OK = "insufficient_data", "ok"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def day_of(hour: datetime) -> datetime:
    """The UTC day holding an hour."""
    h = hour.astimezone(UTC)
    return datetime(h.year, h.month, h.day, tzinfo=UTC)


def by_day(hours: Iterable[datetime]) -> dict[datetime, list[datetime]]:
    """Changed hours grouped by their UTC day, in time order."""
    out: dict[datetime, list[datetime]] = {}
    for h in sorted(hours):
        out.setdefault(day_of(h), []).append(h)
    return out


def merge_window(
    rows: Iterable[tuple[datetime, str, dict[str, Any]]], bins: Mapping[str, FeatureBins]
) -> dict[str, Any]:
    """Merged sketch per feature of a window's hourly sketches (hours in time order), stored or dense."""
    hourly: dict[str, list[dict[str, Any]]] = {}
    for _, feature, data in rows:
        if feature in bins:
            hourly.setdefault(feature, []).append(data)
    # Any: a NumericSketch for a numeric feature, a CategoricalSketch for a categorical one (numeric bins carry edges)
    return {
        f: merge_numeric(items, tuple(cast("list[float]", bins[f].edges)))
        if bins[f].kind == "numeric"
        else merge_categorical_dicts(items)
        for f, items in hourly.items()
    }


def merge_day(
    rows: list[tuple[datetime, str, dict[str, Any]]], bins: Mapping[str, FeatureBins], hours: Iterable[datetime]
) -> tuple[dict[str, Any], dict[datetime, dict[str, Any]]]:
    """:func:`merge_window` of a day's hourly sketches, and of each of `hours` alone.

    Each hour's numeric sketch is built once and the day's is the merge of those (its counts added as
    dense lists, its moments folded in hour order as :func:`merge_numeric` folds them), so the day and
    each hour are the sketches :func:`merge_window` makes, without reading the hours twice.
    """
    wanted = set(hours)
    by_feature: dict[str, dict[datetime, list[dict[str, Any]]]] = {}
    for hour, feature, data in rows:
        if feature in bins:
            by_feature.setdefault(feature, {}).setdefault(hour, []).append(data)
    day: dict[str, Any] = {}
    built: dict[tuple[datetime, str], Any] = {}
    for feature, items in by_feature.items():
        b = bins[feature]
        if b.kind == "numeric":
            edges = tuple(cast("list[float]", b.edges))
            sketches = [merge_numeric(data, edges) for data in items.values()]
            day[feature] = merge_sketches(sketches)
            built.update(((h, feature), s) for h, s in zip(items, sketches, strict=True) if h in wanted)
        else:
            day[feature] = merge_categorical_dicts([d for data in items.values() for d in data])
            built.update(((h, feature), merge_categorical_dicts(data)) for h, data in items.items() if h in wanted)
    of_hours: dict[datetime, dict[str, Any]] = {h: {} for h in sorted(wanted)}
    for hour, feature, _ in rows:  # each hour's features in its rows' order, as merge_window gives them
        s = built.get((hour, feature))
        if s is not None:
            of_hours[hour][feature] = s
    return day, of_hours


def merge_sketches(sketches: list[NumericSketch]) -> NumericSketch:
    """The merge of numeric sketches on the same edges, left to right (as :func:`merge_numeric` merges
    their stored forms): counts added, moments by :func:`merge_moments` in order."""
    first = sketches[0]
    counts = list(first.counts)
    n = missing = 0
    mean = m2 = 0.0
    lo: float | None = None
    hi: float | None = None
    for i, s in enumerate(sketches):
        if s.edges != first.edges:
            raise ValueError("can only merge numeric sketches on the same edges")
        if i:
            counts = list(map(add, counts, s.counts))
        if s.n:
            mean, m2 = merge_moments(n, mean, m2, s.n, s.mean, s.m2)
            n += s.n
            lo = s.min if lo is None else min(lo, cast("float", s.min))
            hi = s.max if hi is None else max(hi, cast("float", s.max))
        missing += s.missing
    return NumericSketch(first.edges, tuple(counts), missing, mean, m2, lo, hi)


def merge_numeric(items: list[dict[str, Any]], edges: tuple[float, ...]) -> NumericSketch:
    """:func:`merge_dicts` of hourly numeric sketches, adding the non-empty bins of packed ones
    (:mod:`seia.sparse`) without making them dense: the same counts, and the same moments folded
    in the same order by :func:`merge_moments`, so the same sketch."""
    if not all("bins" in d and "m2" in d for d in items):
        return merge_dicts([unpack_sketch(d) for d in items], edges)
    size = len(edges) + 1
    counts = [0] * size
    n = missing = 0
    mean = m2 = 0.0
    lo: float | None = None
    hi: float | None = None
    for data in items:
        if data.get("kind", "numeric") != "numeric" or data["size"] != size:
            raise ValueError("can only merge numeric sketches on the same edges")
        bins, bin_counts = data["bins"], data["bin_counts"]
        k = sum(bin_counts)
        if not n and not any(counts):
            # the first non-empty one: its bins set in one C-level pass (bins repeat nowhere, as packed;
            # should they, the sum tells and the bins are added one by one)
            deque(map(counts.__setitem__, bins, bin_counts), maxlen=0)
            if sum(counts) != k:
                counts = [0] * size
                for b, c in zip(bins, bin_counts):
                    counts[b] += c
        else:
            for b, c in zip(bins, bin_counts):
                counts[b] += c
        if k:
            mean, m2 = merge_moments(n, mean, m2, k, float(data["mean"]), float(data["m2"]))
            n += k
            lo = data["min"] if lo is None else min(lo, data["min"])
            hi = data["max"] if hi is None else max(hi, data["max"])
        missing += int(data.get("missing") or 0)
    return NumericSketch(edges, tuple(counts), missing, mean, m2, lo, hi)


def statistics(
    drift: NumericDrift | CategoricalDrift,
    ref: Any,
    cur: Any,
) -> dict[str, Any]:
    """The core's statistics of the feature (as the query path shows them), JSON-safe, plus category shifts."""
    # ref and cur are sketches of the drift's kind (categorical ones for a CategoricalDrift)
    out = {k: clean(v) for k, v in drift_statistics(drift, ref, cur).items()}
    if isinstance(drift, CategoricalDrift) and cur.n and ref.n:
        shifts = {
            k: cur.counts.get(k, 0) / cur.n - ref.counts.get(k, 0) / ref.n for k in set(cur.counts) | set(ref.counts)
        }
        top = max(sorted(shifts), key=lambda k: shifts[k])
        out["top_increase"] = {
            "category": top,
            "ref_share": ref.counts.get(top, 0) / ref.n,
            "cur_share": cur.counts.get(top, 0) / cur.n,
        }
        unseen = sorted((k for k in cur.counts if k not in ref.counts), key=lambda k: (-cur.counts[k], k))
        out["new_categories"] = [{"category": k, "share": cur.counts[k] / cur.n} for k in unseen[:5]]
    return out


class DriftStep(Step):
    """Hours whose sketches changed → drift statistics and verdicts per feature, of the hour and of its day."""

    name = "drift"
    tally = "drifted_features"

    def _references(self, bins: dict[str, FeatureBins]) -> dict[str, Any]:
        """The reference sketches, built once per run (the run's ``bins``) rather than once per window."""
        cached = getattr(self, "_cached_references", None)
        if cached is None or cached[0] is not bins:
            refs = {
                f: NumericSketch.from_dict(b.reference, edges=tuple(cast("list[float]", b.edges)))  # numeric: edges set
                if b.kind == "numeric"
                else CategoricalSketch.from_dict(b.reference)
                for f, b in bins.items()
            }
            cached = self._cached_references = (bins, refs)
        return cached[1]

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        mark = ctx.state.get(ctx.model.id, self.name)
        sketches, results = SketchRepository(ctx.conn), ResultRepository(ctx.conn)
        hours, change = sketches.changed_windows(ctx.model.id, "hour", mark.change)
        days = by_day(hours)
        drifted = {"hour": 0, "day": 0}
        for day, changed in days.items():
            rows = sketches.window(ctx.model.id, day, day + DAY)
            merged, of_hours = merge_day(rows, bins, changed)
            results.save_rollups(ctx.model.id, day, merged)
            drifted["day"] += self.judge(ctx, bins, "day", day, day + DAY, merged)
            for hour in changed:
                drifted["hour"] += self.judge(ctx, bins, "hour", hour, hour + HOUR, of_hours[hour])
        results.render_documents(ctx.model.id, "day", list(days))
        results.render_documents(ctx.model.id, "hour", hours)
        ctx.state.set(ctx.model.id, self.name, Watermark(change=change))
        windows = days if ctx.settings.window == "day" else hours
        return {"windows": len(windows), self.tally: drifted[ctx.settings.window], "hours": len(hours)}

    def judge(
        self,
        ctx: Context,
        bins: dict[str, FeatureBins],
        granularity: str,
        start: datetime,
        end: datetime,
        merged: dict[str, Any],
    ) -> int:
        """Judge one window's merged sketches against the reference and save its results; the drifted count."""
        refs = self._references(bins)
        drifts = {}
        for feature, cur in merged.items():
            ref = refs[feature]
            drifts[feature] = numeric_drift(ref, cur) if isinstance(ref, NumericSketch) else categorical_drift(ref, cur)
        verdicts = judge_window(drifts, ctx.settings.thresholds)
        out = []
        for feature, v in verdicts.items():
            d = drifts[feature]
            stats = statistics(d, refs[feature], merged[feature])
            stats.update(distribution_qvalue=clean(v.distribution_qvalue), missing_qvalue=clean(v.missing_qvalue))
            out.append(
                FeatureResult(
                    feature,
                    bins[feature].kind,
                    d.rows_cur,
                    clean(d.missing.rate_cur),
                    v.verdict,
                    v.severity,
                    list(v.signals),
                    v.driver,
                    clean(v.effect_ratio),
                    stats,
                )
            )
        rows = max((s.rows for f, s in merged.items() if bins[f].source != "label"), default=0)
        status = OK if rows >= ctx.settings.min_rows else INSUFFICIENT
        removed = [f.name for f in ctx.model.features if f.removed]  # their history stays readable
        ResultRepository(ctx.conn).save_window(ctx.model.id, granularity, start, end, rows, status, out, removed)
        return sum(r.verdict == "drift" for r in out)
