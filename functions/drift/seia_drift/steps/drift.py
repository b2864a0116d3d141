"""Drift per window: merge the window's hourly sketches, compare with the reference, judge.

Every changed hour is judged as an hour window and its day as a day window, whatever the model's
evaluation window (settings.window, which alerts follow): the query API reads both as stored rows. The
day's merged sketches are kept as its rollup (drift_rollups), which a range query merges instead of hours.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import sub, truediv
from typing import Any, cast

import numpy as np

from seia.jsonutil import finite as clean
from seia.sparse import unpack_sketch
from seia_drift.repositories.reference import FeatureBins
from seia_drift.repositories.results import FeatureResult, ResultRepository
from seia_drift.repositories.sketches import SketchRepository
from seia_drift.repositories.state import Watermark
from seia_drift.stats import (
    Binned,
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
from seia_drift.stats.batch import EXACT, binned, pooled
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
) -> tuple[dict[str, Any], dict[datetime, dict[str, Any]], dict[str, tuple[list[datetime | None], Any]]]:
    """:func:`merge_window` of a day's hourly sketches, and of each of `hours` alone; and each numeric
    feature's bucket counts of those windows as one array (the day first, then its hours among `hours`),
    for :func:`seia_drift.stats.batch.binned`.

    Packed numeric sketches are added as arrays, each hour once; the moments are folded in the order
    :func:`merge_numeric` folds them, so the day and each hour are the sketches :func:`merge_window` makes.
    """
    wanted = set(hours)
    by_feature: dict[str, dict[datetime, list[dict[str, Any]]]] = {}
    for hour, feature, data in rows:
        if feature in bins:
            by_feature.setdefault(feature, {}).setdefault(hour, []).append(data)
    day: dict[str, Any] = {}
    built: dict[tuple[datetime, str], Any] = {}
    dense: dict[str, tuple[list[datetime | None], Any]] = {}
    for feature, items in by_feature.items():
        b = bins[feature]
        if b.kind != "numeric":
            day[feature] = merge_categorical_dicts([d for data in items.values() for d in data])
            built.update(((h, feature), merge_categorical_dicts(data)) for h, data in items.items() if h in wanted)
            continue
        edges = tuple(cast("list[float]", b.edges))
        counts = _hour_counts(items, len(edges) + 1)
        if counts is None:  # an older (dense) form, or counts numpy cannot hold: one by one
            day[feature] = merge_numeric([d for data in items.values() for d in data], edges)
            built.update(((h, feature), merge_numeric(data, edges)) for h, data in items.items() if h in wanted)
            continue
        total = counts.sum(axis=0)
        day[feature] = _sketch(edges, total, [d for data in items.values() for d in data])
        keys: list[datetime | None] = [None]
        picked = [total]
        for i, (h, hour_items) in enumerate(items.items()):
            if h in wanted:
                built[(h, feature)] = _sketch(edges, counts[i], hour_items)
                keys.append(h)
                picked.append(counts[i])
        dense[feature] = (keys, np.vstack(picked))
    of_hours: dict[datetime, dict[str, Any]] = {h: {} for h in sorted(wanted)}
    for hour, feature, _ in rows:  # each hour's features in its rows' order, as merge_window gives them
        s = built.get((hour, feature))
        if s is not None:
            of_hours[hour][feature] = s
    return day, of_hours, dense


def _hour_counts(items: dict[datetime, list[dict[str, Any]]], size: int) -> Any:
    """Each hour's bucket counts (one row per hour of `items`, int64) from packed sketches; None when a
    sketch is not packed, not of this size, or its counts reach :data:`~seia_drift.stats.batch.EXACT`."""
    lengths: list[int] = []
    positions: list[int] = []
    values: list[int] = []
    for data in items.values():
        k = 0
        for d in data:
            if "bins" not in d or "m2" not in d or d.get("kind", "numeric") != "numeric" or d["size"] != size:
                return None
            k += len(d["bins"])
            positions.extend(d["bins"])
            values.extend(d["bin_counts"])
        lengths.append(k)
    if values and (max(values) >= EXACT or min(values) < 0 or sum(values) >= EXACT):
        return None
    counts = np.zeros((len(items), size), dtype=np.int64)
    hour_index = np.repeat(np.arange(len(items)), lengths)
    np.add.at(counts, (hour_index, np.asarray(positions, dtype=np.intp)), np.asarray(values, dtype=np.int64))
    return counts


def _moments(items: list[dict[str, Any]]) -> tuple[int, float, float, float | None, float | None]:
    """(missing, mean, M2, min, max) of packed hourly sketches, folded in their order by :func:`merge_moments`."""
    n = missing = 0
    mean = m2 = 0.0
    lo: float | None = None
    hi: float | None = None
    for data in items:
        k = sum(data["bin_counts"])
        if k:
            mean, m2 = merge_moments(n, mean, m2, k, float(data["mean"]), float(data["m2"]))
            n += k
            lo = data["min"] if lo is None else min(lo, data["min"])
            hi = data["max"] if hi is None else max(hi, data["max"])
        missing += int(data.get("missing") or 0)
    return missing, mean, m2, lo, hi


def _sketch(edges: tuple[float, ...], counts: Any, items: list[dict[str, Any]]) -> NumericSketch:
    """The sketch of packed `items` (merged in order, as :func:`merge_numeric`) whose counts add up to `counts`."""
    return NumericSketch.of_counts(edges, counts.tolist(), *_moments(items))  # counts: int64, >= 0


def merge_numeric(items: list[dict[str, Any]], edges: tuple[float, ...]) -> NumericSketch:
    """:func:`merge_dicts` of hourly numeric sketches, adding the non-empty bins of packed ones
    (:mod:`seia.sparse`) without making them dense: the same counts, and the same moments folded
    in the same order by :func:`merge_moments`, so the same sketch."""
    if not all("bins" in d and "m2" in d for d in items):
        return merge_dicts([unpack_sketch(d) for d in items], edges)
    size = len(edges) + 1
    counts = [0] * size
    empty = True  # every count still 0
    for data in items:
        if data.get("kind", "numeric") != "numeric" or data["size"] != size:
            raise ValueError("can only merge numeric sketches on the same edges")
        bins, bin_counts = data["bins"], data["bin_counts"]
        k = sum(bin_counts)
        if empty:
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
        empty = empty and not k
    return NumericSketch(edges, tuple(counts), *_moments(items))


def statistics(
    drift: NumericDrift | CategoricalDrift,
    ref: Any,
    cur: Any,
) -> dict[str, Any]:
    """The core's statistics of the feature (as the query path shows them), JSON-safe, plus category shifts."""
    # ref and cur are sketches of the drift's kind (categorical ones for a CategoricalDrift)
    out = {k: clean(v) for k, v in drift_statistics(drift, ref, cur).items()}
    if isinstance(drift, CategoricalDrift) and cur.n and ref.n:
        top = _top_increase(ref, cur)
        out["top_increase"] = {
            "category": top,
            "ref_share": ref.counts.get(top, 0) / ref.n,
            "cur_share": cur.counts.get(top, 0) / cur.n,
        }
        unseen = (
            []
            if ref.counts.keys() >= cur.counts.keys()
            else sorted((k for k in cur.counts if k not in ref.counts), key=lambda k: (-cur.counts[k], k))
        )
        out["new_categories"] = [{"category": k, "share": cur.counts[k] / cur.n} for k in unseen[:5]]
    return out


def _top_increase(ref: CategoricalSketch, cur: CategoricalSketch) -> str:
    """The category whose share grew most (the first in sorted order among equals); both sketches hold a value."""
    if ref.counts.keys() >= cur.counts.keys():
        # the reference's categories (sorted) and shares, kept on it
        found = ref.derived.get("shares")
        if found is None:
            found = ref.derived["shares"] = (tuple(ref.counts), tuple(v / ref.n for v in ref.counts.values()))
        keys, ref_shares = found
        cur_shares = map(truediv, map(cur.counts.get, keys, repeat(0)), repeat(cur.n))
        shifts = list(map(sub, cur_shares, ref_shares))
        return keys[max(range(len(keys)), key=shifts.__getitem__)]
    by_key = {k: cur.counts.get(k, 0) / cur.n - ref.counts.get(k, 0) / ref.n for k in set(cur.counts) | set(ref.counts)}
    return max(sorted(by_key), key=lambda k: by_key[k])


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
            merged, of_hours, dense = merge_day(rows, bins, changed)
            results.save_rollups(ctx.model.id, day, merged)
            # the bucket-level statistics of each numeric feature, for the day and its hours at once
            refs = self._references(bins)
            prepared: dict[datetime | None, dict[str, Binned | None]] = {}
            for feature, (keys, counts) in dense.items():
                currents = [merged[feature] if k is None else of_hours[k][feature] for k in keys]
                for k, done in zip(keys, binned(refs[feature], counts, currents), strict=True):
                    prepared.setdefault(k, {})[feature] = done
            drifted["day"] += self.judge(ctx, bins, "day", day, day + DAY, merged, prepared.get(None))
            for hour in changed:
                drifted["hour"] += self.judge(ctx, bins, "hour", hour, hour + HOUR, of_hours[hour], prepared.get(hour))
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
        prepared: Mapping[str, Binned | None] | None = None,
    ) -> int:
        """Judge one window's merged sketches against the reference and save its results; the drifted count.

        ``prepared`` holds the bucket-level statistics of numeric features computed already (by feature)."""
        refs = self._references(bins)
        prepared = prepared or {}
        drifts: dict[str, NumericDrift | CategoricalDrift] = {}
        for feature, cur in merged.items():
            ref = refs[feature]
            if isinstance(ref, NumericSketch):
                drifts[feature] = numeric_drift(ref, cur, binned=prepared.get(feature))
            else:
                drifts[feature] = categorical_drift(ref, cur, pooled=pooled(ref, cur))
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
