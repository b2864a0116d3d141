"""Probable causes of each incident whose windows changed, ranked (see :mod:`seia_drift.causes`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from seia.repositories.incidents import IncidentRow
from seia.segment_rows import segment_fields
from seia.stats import NumericSketch
from seia_drift import causes as ranking
from seia_drift import multivariate as mv
from seia_drift.layout import LABEL, PREDICTION, SCORE
from seia_drift.repositories.incidents import Cause, FlagRow, IncidentRepository
from seia_drift.repositories.segments import Key, SegmentRepository, SegmentStats
from seia_drift.repositories.sources import predictions, uploaded_reference
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import Context, Step
from seia_drift.steps.reference import store_reference_segments


class CauseStep(Step):
    """Incidents whose windows changed → ranked (feature, segment) causes of the incident as a whole,
    with a contribution score and a sentence.

    Segment statistics are stored: the reference's once per reference, each hour's by the labels
    step. An incident's are a merge of the stored hours of its flagged windows (one grouped query), so
    the cost follows the incidents that changed in this run, not all incidents nor the history.
    """

    name = "causes"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        repo = IncidentRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        changed = repo.changed(ctx.model.id, mark.change)
        self._ctx, self._stored, self._bins = ctx, stored, bins
        self._repo = SegmentRepository(ctx.conn)
        self._ref: dict[Key, SegmentStats] | None = None
        flagged = {i.id: repo.flagged_windows(i) for i in changed}
        # every flagged window of the changed incidents, merged once (one query), then summed per incident
        ranges = sorted({(f.window_start, f.window_end) for rows in flagged.values() for f in rows})
        multiclass = ctx.model.task == "multiclass_classification"
        self._windows = self._repo.windows(ctx.model.id, ranges, multiclass) if ranges else {}
        done = 0
        for incident in changed:
            if flagged[incident.id]:  # the stored-data finding has no windows: its cause is its message
                repo.save_causes(incident.id, self._causes(incident, flagged[incident.id]))
                done += 1
        ctx.state.set(ctx.model.id, self.name, Watermark(change=max([mark.change] + [i.change for i in changed])))
        return {"incidents": done}

    # -- segment statistics -----------------------------------------------------------------
    def _focus(self, flagged: list[FlagRow]) -> str | None:
        model = self._ctx.model
        if model.task == "binary_classification":
            return model.positive_label
        top = (flagged[-1].details.get("statistics") or {}).get("top_increase") or {}
        return top.get("category") or (model.labels[0] if model.labels else None)

    def _reference(self) -> dict[Key, SegmentStats]:
        if self._ref is None:
            ctx = self._ctx
            if not self._repo.has_reference(ctx.model.id):
                # a reference built before segments were stored: counted once, then kept
                if self._stored.source == "uploaded":
                    source = uploaded_reference(ctx.rows)
                else:
                    # a first-window reference records its window (only an uploaded one has none)
                    start, end = self._stored.window_start, self._stored.window_end
                    assert start is not None and end is not None
                    source = predictions(ctx.rows, start, end)
                store_reference_segments(ctx, source, self._bins)
            self._ref = self._repo.reference(ctx.model.id)
        return self._ref

    def _features(self, flagged: list[FlagRow], focus: str | None) -> list[ranking.FeatureSegments]:
        ctx = self._ctx
        multiclass = ctx.model.task == "multiclass_classification"
        cur: dict[Key, SegmentStats] = {}
        for f in flagged:
            for key, st in self._windows.get(f.window_start, {}).items():
                if key in cur:
                    cur[key].add(st)
                else:
                    cur[key] = dataclasses.replace(
                        st, classes={c: list(v) for c, v in st.classes.items()} if st.classes else None
                    )
        ref = self._reference()
        slots = [s for s in ctx.layout.numeric + ctx.layout.categorical if s.source == "feature"]
        features = {
            s.feature: ranking.FeatureSegments(
                s.feature, s.kind, self._bins[s.feature].segments if s.kind == "numeric" else None
            )
            for s in slots
            if s.feature in self._bins
        }
        # the declared segment fields (a parent's; a segment model declares none): categorical candidates
        for name in segment_fields(ctx.model):
            features[name] = ranking.FeatureSegments(name, "categorical", None, segment_field=True)
        for side, values in (("ref", ref), ("cur", cur)):
            for (feature, segment), st in values.items():
                if feature in features:
                    getattr(features[feature], side)[segment] = st.focused(focus) if multiclass else st
        return list(features.values())

    # -- ranking per kind of incident -------------------------------------------------------
    def _quantity(
        self, incident: IncidentRow, flagged: list[FlagRow], focus: str | None
    ) -> tuple[str, bool, str | None]:
        """What a prediction or label drift incident's causes speak of: (the quantity decomposed, whether it
        is a share of rows, a lead sentence naming the incident's own quantity when that is another one).

        The segments hold, per binary model row, its score or else whether it predicted ``focus``
        (:mod:`seia_drift.repositories.segments`): a drift of the predicted class of a model with scores is
        explained through the mean score that decides it, and its sentences say so."""
        task = self._ctx.model.task
        if incident.kind == "label_drift":
            return ("mean label", False, None) if task == "regression" else (f"share of label {focus!r}", True, None)
        if task == "regression":
            return "mean prediction", False, None
        predicted = f"share of predicted {focus!r}"
        if task != "binary_classification":
            return predicted, True, None
        if incident.subject == SCORE or not self._scored():
            return ("mean score", False, None) if incident.subject == SCORE else (predicted, True, None)
        top = (flagged[-1].details.get("statistics") or {}).get("top_increase") or {}
        lead = None
        if top.get("category") is not None and top.get("ref_share") is not None and top.get("cur_share") is not None:
            ref, cur = float(top["ref_share"]), float(top["cur_share"])
            if top["category"] != focus:  # two classes: the focus class has the rest
                ref, cur = 1.0 - ref, 1.0 - cur
            lead = f"{predicted} went {ranking._pct(ref)} → {ranking._pct(cur)}"
        return "mean score", False, lead or f"the {predicted} changed"

    def _scored(self) -> bool:
        """Whether the model sends scores (its reference holds some)."""
        b = self._bins.get(SCORE)
        return b is not None and bool(b.edges) and NumericSketch.from_dict(b.reference, b.edges).n > 0

    def _causes(self, incident: IncidentRow, flagged: list[FlagRow]) -> list[Cause]:
        model = self._ctx.model
        regression = model.task == "regression"
        focus = self._focus(flagged)
        message = flagged[-1].message or incident.summary
        if incident.kind == "multivariate_drift":
            return mv.causes([f.details.get("statistics") or {} for f in flagged]) or [
                Cause(incident.subject, None, 1.0, message, {})
            ]
        if incident.kind == "performance" and incident.condition.startswith("estimated_"):
            # estimated from the scores alone: no labels to rank segments by; the message says it all
            return [Cause(incident.subject, None, 1.0, message, {})]
        if incident.kind == "performance":
            features = self._features(flagged, focus)
            ref = flagged[-1].details["reference"]
            metric = "mae" if regression else "accuracy"
            # the metric over the flagged windows together: their values weighted by labelled rows
            cur_n = sum(f.details["window"].get("n") or 0 for f in flagged)
            cur = sum((f.details["window"].get(metric) or 0) * (f.details["window"].get("n") or 0) for f in flagged)
            cur_value = cur / cur_n if cur_n else flagged[-1].details["window"][metric]
            if regression:
                return ranking.rank_performance(features, "MAE", ref["mae"], cur_value, True)
            return ranking.rank_performance(features, "accuracy", ref["accuracy"], cur_value, False)
        if incident.kind in ("prediction_drift", "label_drift"):
            features = self._features(flagged, focus)
            label = incident.kind == "label_drift"
            attr_sum, attr_n = ("y_sum", "labeled") if label else ("pred_sum", "pred_n")
            totals = [
                (sum(getattr(s, attr_sum) for s in side.values()), sum(getattr(s, attr_n) for s in side.values()))
                for side in ((features[0].ref, features[0].cur) if features else ())
            ]
            if len(totals) != 2 or not totals[0][1] or not totals[1][1]:
                return [Cause(incident.subject, None, 1.0, message, {})]
            ref_value, cur_value = (s / n for s, n in totals)
            what, shares, lead = self._quantity(incident, flagged, focus)
            return ranking.rank_shift(
                features,
                what,
                ref_value,
                cur_value,
                attr_sum,
                attr_n,
                label_candidate=(focus or "mean") if label else None,
                shares=shares,
                lead=lead,
            )
        # feature drift and data quality: segments of the feature itself
        if (
            incident.subject in (PREDICTION, LABEL)
            or incident.subject not in self._bins
            or self._bins[incident.subject].source != "feature"
        ):
            return [Cause(incident.subject, None, 1.0, message, {})]
        fs = next(f for f in self._features(flagged, focus) if f.feature == incident.subject)
        headline = message if incident.condition == "unit_change" else None
        return ranking.rank_within_feature(fs, headline) or [Cause(incident.subject, None, 1.0, message, {})]
