"""Drift per evaluation window: merge the window's hourly sketches, compare with the reference, judge."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

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
    judge_window,
    numeric_drift,
)
from seia_drift.steps.base import Context, Step

INSUFFICIENT, OK = "insufficient_data", "ok"


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def merge_window(
    rows: Iterable[tuple[datetime, str, dict[str, Any]]], bins: Mapping[str, FeatureBins]
) -> dict[str, Any]:
    """Merged sketch per feature of a window's hourly sketches (hours in time order)."""
    merged: dict[str, Any] = {}
    for _, feature, data in rows:
        if feature not in bins:
            continue
        b = bins[feature]
        sketch = (
            NumericSketch.from_dict(data, edges=tuple(b.edges or ()))
            if b.kind == "numeric"
            else CategoricalSketch.from_dict(data)
        )
        merged[feature] = merged[feature].merge(sketch) if feature in merged else sketch
    return merged


def statistics(drift: NumericDrift | CategoricalDrift, ref: Any, cur: Any) -> dict[str, Any]:
    m = drift.missing
    out = {
        "n_ref": drift.n_ref,
        "n_cur": drift.n_cur,
        "rows_ref": drift.rows_ref,
        "rows_cur": drift.rows_cur,
        "missing_rate_ref": clean(m.rate_ref),
        "missing_rate_cur": clean(m.rate_cur),
    }
    if isinstance(drift, CategoricalDrift):
        out.update(
            chi2_statistic=clean(drift.chi2_statistic),
            chi2_pvalue=clean(drift.chi2_pvalue),
            js_distance=clean(drift.js_distance),
            psi=clean(drift.psi),
            unseen_share=clean(drift.unseen_share),
        )
        if cur.n and ref.n:
            shifts = {
                k: cur.counts.get(k, 0) / cur.n - ref.counts.get(k, 0) / ref.n
                for k in set(cur.counts) | set(ref.counts)
            }
            top = max(sorted(shifts), key=lambda k: shifts[k])
            out["top_increase"] = {
                "category": top,
                "ref_share": ref.counts.get(top, 0) / ref.n,
                "cur_share": cur.counts.get(top, 0) / cur.n,
            }
            unseen = sorted((k for k in cur.counts if k not in ref.counts), key=lambda k: (-cur.counts[k], k))
            out["new_categories"] = [{"category": k, "share": cur.counts[k] / cur.n} for k in unseen[:5]]
    else:
        for name in (
            "ks_statistic",
            "ks_pvalue",
            "wasserstein",
            "wasserstein_normed",
            "psi",
            "js_distance",
            "mean_ref",
            "mean_cur",
            "std_ref",
            "std_cur",
        ):
            out[name] = clean(getattr(drift, name))
        out["min_cur"], out["max_cur"] = cur.min, cur.max
        out["min_ref"], out["max_ref"] = ref.min, ref.max
    return out


class DriftStep(Step):
    """Windows whose hourly sketches changed → drift statistics and verdicts per feature."""

    name = "drift"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        sketches, results = SketchRepository(ctx.conn), ResultRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        gran = ctx.settings.window
        windows, change = sketches.changed_windows(ctx.model.id, gran, mark.change)
        drifted = 0
        for start in windows:
            end = ctx.window_end(start)
            merged = merge_window(sketches.window(ctx.model.id, start, end), bins)
            drifts: dict[str, NumericDrift | CategoricalDrift] = {}
            refs: dict[str, NumericSketch | CategoricalSketch] = {}
            for feature, cur in merged.items():
                b = bins[feature]
                ref: NumericSketch | CategoricalSketch
                if b.kind == "numeric":
                    ref = NumericSketch.from_dict(b.reference, edges=tuple(b.edges or ()))
                    drifts[feature] = numeric_drift(ref, cur)
                else:
                    ref = CategoricalSketch.from_dict(b.reference)
                    drifts[feature] = categorical_drift(ref, cur)
                refs[feature] = ref
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
            results.save_window(ctx.model.id, gran, start, end, rows, status, out)
            drifted += sum(r.verdict == "drift" for r in out)
        ctx.state.set(ctx.model.id, self.name, Watermark(change=change))
        return {"windows": len(windows), "drifted_features": drifted}
