"""Join labels: recompute the performance statistics, the label sketch and the cause segments of every hour touched."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from seia_drift.layout import LABEL
from seia_drift.repositories.performance import PerformanceRepository
from seia_drift.repositories.reference import FeatureBins
from seia_drift.repositories.segments import SegmentRepository
from seia_drift.repositories.sketches import SketchRepository
from seia_drift.repositories.sources import Source, predictions
from seia_drift.repositories.state import SEGMENTS, Watermark
from seia_drift.stats import CategoricalSketch, NumericSketch
from seia_drift.steps.base import Context, Step

log = logging.getLogger(__name__)
HOURS_PER_QUERY = 24 * 7
HOUR = timedelta(hours=1)


def segment_edges(ctx: Context, bins: Mapping[str, FeatureBins]) -> dict[int, list[float]]:
    """The reference deciles of every numeric feature, by position."""
    return {s.position: bins[s.feature].segments or [] for s in ctx.layout.numeric if s.source == "feature"}


class LabelStep(Step):
    """New or corrected labels, and new rows, touch hours; each touched hour's performance
    statistics, label sketch and cause segments (:mod:`seia_drift.repositories.segments`) are
    recomputed whole from its rows and labels.

    Recomputing (rather than adding) is what makes a corrected label replace the old one; a label
    that arrives weeks late recomputes its old hour, and the windows above it follow.
    """

    name = "labels"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        perf = PerformanceRepository(ctx.conn)
        sketches = SketchRepository(ctx.conn)
        segments = SegmentRepository(ctx.conn)
        deciles = segment_edges(ctx, bins)
        mark = ctx.state.get(ctx.model.id, self.name)
        # The profile step's horizon, not a newer one: the rows below it are those the profile step has
        # counted into segments, so a recomputed hour holds exactly them and the profile step's next
        # rows are added once (a label committed since waits for the next run).
        horizon = ctx.state.get(ctx.model.id, "profile").xid
        hours = perf.touched_hours(ctx.rows, mark.xid, horizon)
        if ctx.state.get(ctx.model.id, SEGMENTS).xid == horizon and ctx.model.task != "multiclass_classification":
            # the profile step added the new rows, without labels: recount the hours where labels count
            recount = set(perf.labeled_hours(ctx.rows, mark.xid, horizon))
        else:
            recount = set(hours)
        labeled = 0
        for i in range(0, len(hours), HOURS_PER_QUERY):
            chunk = hours[i : i + HOURS_PER_QUERY]
            source = predictions(ctx.rows, chunk[0], chunk[-1] + HOUR, horizon, hours=chunk)
            values = perf.compute(ctx.model, source, packed=True, fit=(stored.performance or {}).get("estimation"))
            perf.replace_hours(ctx.model.id, chunk, values)
            counted = [h for h in chunk if h in recount]
            if counted:
                segments.store_hours(
                    ctx.model,
                    ctx.layout,
                    predictions(ctx.rows, counted[0], counted[-1] + HOUR, horizon, hours=counted),
                    deciles,
                    counted,
                )
            label_sketches = self._label_sketches(ctx, sketches, source, values, bins)
            sketches.delete(ctx.model.id, LABEL, [h for h in chunk if h not in label_sketches])
            sketches.upsert(
                ctx.model.id,
                [
                    (
                        h,
                        LABEL,
                        s.rows,
                        s.missing,
                        s.to_dict(include_edges=False) if isinstance(s, NumericSketch) else s.to_dict(),
                    )
                    for h, s in sorted(label_sketches.items())
                ],
            )
            labeled += sum(v[1] for v in values.values())
            if len(hours) > HOURS_PER_QUERY:
                log.info("labels %s: %d/%d hours", ctx.model.name, min(i + HOURS_PER_QUERY, len(hours)), len(hours))
        ctx.state.set(ctx.model.id, self.name, Watermark(xid=horizon))
        if ctx.model.task != "multiclass_classification":
            ctx.state.set(ctx.model.id, SEGMENTS, Watermark(xid=horizon))  # every row below it is counted
        return {"hours": len(hours), "labeled_rows_in_hours": labeled, "segment_hours": len(recount)}

    def _label_sketches(
        self,
        ctx: Context,
        sketches: SketchRepository,
        source: Source,
        values: dict[datetime, tuple[Any, ...]],
        bins: Mapping[str, FeatureBins],
    ) -> dict[datetime, NumericSketch | CategoricalSketch]:
        if ctx.layout.label.kind == "categorical":
            return {h: CategoricalSketch(dict(groups)) for h, (_, lab, _, groups) in values.items() if lab}
        edges = bins[LABEL].edges
        assert edges is not None  # a numeric label's bins carry edges
        out: dict[datetime, NumericSketch | CategoricalSketch] = {}
        for hour, buckets, counts, missing, mean, m2, lo, hi in sketches.label_numeric_counts(source, edges):
            dense = [0] * (len(edges) + 1)
            for b, c in zip(buckets or (), counts or ()):
                dense[b] = c
            out[hour] = NumericSketch(tuple(edges), tuple(dense), missing, mean or 0.0, m2 or 0.0, lo, hi)
        return out
