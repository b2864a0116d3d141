"""Drift per evaluation window: merge the window's hourly sketches, compare with the reference, judge."""

from __future__ import annotations

import math

from seia_drift.repositories.results import FeatureResult, ResultRepository
from seia_drift.repositories.sketches import SketchRepository
from seia_drift.repositories.state import Watermark
from seia_drift.stats import (
    CategoricalDrift,
    CategoricalSketch,
    NumericSketch,
    categorical_drift,
    judge_window,
    numeric_drift,
)
from seia_drift.steps.base import Context, Step

INSUFFICIENT, OK = "insufficient_data", "ok"


def clean(value):
    """JSON-safe: NaN and infinities become None."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def merge_window(rows, bins) -> dict:
    """Merged sketch per feature of a window's hourly sketches (hours in time order).

    The stored dicts are added up directly and one sketch is built per feature: building (and
    validating) a sketch per hour and merging pairwise cost a day's window 24 of each. Floats are
    added in time order, as the pairwise merge does.
    """
    numeric: dict[str, list] = {}
    categorical: dict[str, list] = {}
    for _, feature, data in rows:
        if feature not in bins:
            continue
        (numeric if bins[feature].kind == "numeric" else categorical).setdefault(feature, []).append(data)
    merged = {}
    for feature, hours in numeric.items():
        import numpy as np

        edges = tuple(bins[feature].edges)
        if any(len(h["counts"]) != len(edges) + 1 for h in hours):
            raise ValueError(f"hourly sketches of {feature} do not match its edges")
        total = total_sq = 0.0
        lo = hi = None
        for h in hours:
            total += h["total"]
            total_sq += h["total_sq"]
            if h.get("min") is not None:
                lo = h["min"] if lo is None else min(lo, h["min"])
            if h.get("max") is not None:
                hi = h["max"] if hi is None else max(hi, h["max"])
        counts = np.asarray([h["counts"] for h in hours], dtype=np.int64).sum(axis=0).tolist()
        missing = sum(h.get("missing", 0) for h in hours)
        merged[feature] = NumericSketch(edges, tuple(counts), missing, total, total_sq, lo, hi)
    for feature, hours in categorical.items():
        counts: dict[str, int] = {}
        for h in hours:
            for key, value in h["counts"].items():
                counts[key] = counts.get(key, 0) + value
        merged[feature] = CategoricalSketch(counts, sum(h.get("missing", 0) for h in hours))
    return merged


def statistics(drift, ref, cur) -> dict:
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

    def run(self, ctx: Context) -> dict:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        sketches, results = SketchRepository(ctx.conn), ResultRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        gran = ctx.settings.window
        windows, change = sketches.changed_windows(ctx.model.id, gran, mark.change)
        drifted = 0
        # the reference sketches, built once per run rather than once per window
        refs = {
            f: NumericSketch.from_dict(b.reference, edges=tuple(b.edges))
            if b.kind == "numeric"
            else CategoricalSketch.from_dict(b.reference)
            for f, b in bins.items()
        }
        for start in windows:
            end = ctx.window_end(start)
            merged = merge_window(sketches.window(ctx.model.id, start, end), bins)
            drifts = {}
            for feature, cur in merged.items():
                if bins[feature].kind == "numeric":
                    drifts[feature] = numeric_drift(refs[feature], cur)
                else:
                    drifts[feature] = categorical_drift(refs[feature], cur)
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
