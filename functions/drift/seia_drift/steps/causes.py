"""Probable causes of each new alert, ranked (see :mod:`seia_drift.causes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seia_drift import causes as ranking
from seia_drift.layout import LABEL, PREDICTION
from seia_drift.repositories.alerts import AlertRepository, AlertRow, Cause
from seia_drift.repositories.segments import Key, SegmentRepository, SegmentStats
from seia_drift.repositories.sources import predictions, uploaded_reference
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import Context, Step
from seia_drift.steps.reference import store_reference_segments


class CauseStep(Step):
    """New alerts → ranked (feature, segment) causes with a contribution score and a sentence.

    Segment statistics are stored: the reference's once per reference, each hour's by the labels
    step. A window's are a merge of its stored hours (one grouped query), done once per window
    within a run, so the cost follows the windows with alerts, not the alerts nor the history.
    """

    name = "causes"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        alerts = AlertRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        new = alerts.after(ctx.model.id, mark.change)
        self._cache: dict[datetime, dict[Key, SegmentStats]] = {}
        self._ctx, self._stored, self._bins = ctx, stored, bins
        self._repo = SegmentRepository(ctx.conn)
        self._ref: dict[Key, SegmentStats] | None = None
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

    def _reference(self) -> dict[Key, SegmentStats]:
        if self._ref is None:
            ctx = self._ctx
            if not self._repo.has_reference(ctx.model.id):
                # a reference built before segments were stored: counted once, then kept
                if self._stored.source == "uploaded":
                    source = uploaded_reference(ctx.model.id)
                else:
                    # a first-window reference records its window (only an uploaded one has none)
                    start, end = self._stored.window_start, self._stored.window_end
                    assert start is not None and end is not None
                    source = predictions(ctx.model.id, start, end)
                store_reference_segments(ctx, source, self._bins)
            self._ref = self._repo.reference(ctx.model.id)
        return self._ref

    def _features(self, alert: AlertRow, focus: str | None) -> list[ranking.FeatureSegments]:
        ctx = self._ctx
        multiclass = ctx.model.task == "multiclass_classification"
        if alert.window_start not in self._cache:
            end = ctx.window_end(alert.window_start)
            self._cache[alert.window_start] = self._repo.window(ctx.model.id, alert.window_start, end, multiclass)
        cur = self._cache[alert.window_start]
        ref = self._reference()
        slots = [s for s in ctx.layout.numeric + ctx.layout.categorical if s.source == "feature"]
        features = {
            s.feature: ranking.FeatureSegments(
                s.feature, s.kind, self._bins[s.feature].segments if s.kind == "numeric" else None
            )
            for s in slots
            if s.feature in self._bins
        }
        for side, values in (("ref", ref), ("cur", cur)):
            for (feature, segment), st in values.items():
                if feature in features:
                    getattr(features[feature], side)[segment] = st.focused(focus) if multiclass else st
        return list(features.values())

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
