"""Probable causes of each new alert, ranked (see :mod:`seia_drift.causes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seia_drift import causes as ranking
from seia_drift.layout import LABEL, PREDICTION
from seia_drift.repositories.alerts import AlertRepository, AlertRow, Cause
from seia_drift.repositories.segments import SegmentRepository
from seia_drift.repositories.sources import predictions, uploaded_reference
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import Context, Step


class CauseStep(Step):
    """New alerts → ranked (feature, segment) causes with a contribution score and a sentence.

    Segment statistics are counted in SQL over the alert's window and over the reference; they are
    computed once per window and class of interest within a run.
    """

    name = "causes"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        alerts = AlertRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        new = alerts.after(ctx.model.id, mark.change)
        self._cache: dict[tuple[datetime, str | None], list[ranking.FeatureSegments]] = {}
        self._ctx, self._stored, self._bins = ctx, stored, bins
        for alert in new:
            alerts.save_causes(alert.id, self._causes(alert))
        ctx.state.set(ctx.model.id, self.name, Watermark(change=max([mark.change] + [a.id for a in new])))
        return {"alerts": len(new)}

    # -- segment statistics -----------------------------------------------------------------
    def _focus(self, alert: AlertRow) -> str | None:
        model = self._ctx.model
        if model.task == "binary_classification":
            return model.positive_label
        top = (alert.details.get("statistics") or {}).get("top_increase") or {}
        return top.get("category") or (model.labels[0] if model.labels else None)

    def _features(self, alert: AlertRow, focus: str | None) -> list[ranking.FeatureSegments]:
        key = (alert.window_start, focus)
        if key not in self._cache:
            ctx, stored = self._ctx, self._stored
            slots = [s for s in ctx.layout.numeric + ctx.layout.categorical if s.source == "feature"]
            segments = {
                s.position: self._bins[s.feature].segments or [] for s in ctx.layout.numeric if s.source == "feature"
            }
            repo = SegmentRepository(ctx.conn)
            reference = (
                uploaded_reference(ctx.model.id)
                if stored.source == "uploaded"
                # a reference taken from predictions always has its window
                else predictions(ctx.model.id, stored.window_start, stored.window_end)  # type: ignore[arg-type]
            )
            window = predictions(ctx.model.id, alert.window_start, ctx.window_end(alert.window_start))
            ref, cur = (repo.stats(ctx.model, src, segments, focus) for src in (reference, window))
            features = []
            for slot in slots:
                fs = ranking.FeatureSegments(slot.feature, slot.kind, segments.get(slot.position))
                for (kind, pos, seg), st in ref.items():
                    if kind == slot.kind and pos == slot.position:
                        fs.ref[seg] = st
                for (kind, pos, seg), st in cur.items():
                    if kind == slot.kind and pos == slot.position:
                        fs.cur[seg] = st
                features.append(fs)
            self._cache[key] = features
        return self._cache[key]

    # -- ranking per kind of alert ----------------------------------------------------------
    def _causes(self, alert: AlertRow) -> list[Cause]:
        model = self._ctx.model
        regression = model.task == "regression"
        focus = self._focus(alert)
        if alert.kind == "performance":
            features = self._features(alert, focus)
            ref, cur = alert.details["reference"], alert.details["window"]
            if regression:
                return ranking.rank_performance(features, "MAE", ref["mae"], cur["mae"], True)
            return ranking.rank_performance(features, "accuracy", ref["accuracy"], cur["accuracy"], False)
        if alert.kind in ("prediction_drift", "label_drift"):
            features = self._features(alert, focus)
            label = alert.kind == "label_drift"
            attr_sum, attr_n = ("y_sum", "labeled") if label else ("pred_sum", "pred_n")
            totals = [
                (sum(getattr(s, attr_sum) for s in side.values()), sum(getattr(s, attr_n) for s in side.values()))
                for side in ((features[0].ref, features[0].cur) if features else ())
            ]
            if len(totals) != 2 or not totals[0][1] or not totals[1][1]:
                return [Cause(alert.subject, None, 1.0, alert.message, {})]
            ref_value, cur_value = (s / n for s, n in totals)
            if regression:
                what = "mean label" if label else "mean prediction"
            elif model.task == "binary_classification" and not label:
                what = "mean score"
            else:
                what = f"share of {'label' if label else 'predicted'} {focus!r}"
            return ranking.rank_shift(
                features,
                what,
                ref_value,
                cur_value,
                attr_sum,
                attr_n,
                label_candidate=(focus or "mean") if label else None,
            )
        # feature drift and data quality: segments of the feature itself
        if (
            alert.subject in (PREDICTION, LABEL)
            or alert.subject not in self._bins
            or self._bins[alert.subject].source != "feature"
        ):
            return [Cause(alert.subject, None, 1.0, alert.message, {})]
        fs = next(f for f in self._features(alert, focus) if f.feature == alert.subject)
        headline = alert.message if alert.condition == "unit_change" else None
        return ranking.rank_within_feature(fs, headline) or [Cause(alert.subject, None, 1.0, alert.message, {})]
