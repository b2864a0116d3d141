"""Fix the reference: bins, deciles and sketches of every feature; rebuild when it changes."""

from __future__ import annotations

from typing import Any

import numpy as np

from seia_drift import performance
from seia_drift.layout import Slot
from seia_drift.repositories import sketches
from seia_drift.repositories.performance import PerformanceRepository
from seia_drift.repositories.reference import FeatureBins, ReferenceRepository, StoredReference
from seia_drift.repositories.segments import SegmentRepository
from seia_drift.repositories.sources import Source, predictions, uploaded_reference
from seia_drift.stats import CategoricalSketch, fit_edges, sketch_values
from seia_drift.steps.base import Context, Step

EMPTY_EDGES = [0.0]  # a feature without any reference value: every current value is "new"
DECILES = np.linspace(0.1, 0.9, 9)
MAX_ABS = float(sketches.MAX_ABS)


def store_reference_segments(ctx: Context, source: Source, bins: dict[str, FeatureBins]) -> None:
    """The reference's cause segments, counted once per reference (every cause merges against them)."""
    deciles = {s.position: bins[s.feature].segments or [] for s in ctx.layout.numeric if s.source == "feature"}
    repo = SegmentRepository(ctx.conn)
    repo.replace_reference(ctx.model.id, repo.compute_reference(ctx.model, ctx.layout, source, deciles))


class ReferenceStep(Step):
    """Choose the reference (the uploaded set, else the first window with enough rows) and, when it
    is new, store its bins and sketches and drop every result derived from the previous one."""

    name = "reference"

    def run(self, ctx: Context) -> dict[str, Any]:
        repo = ReferenceRepository(ctx.conn)
        stored = repo.stored(ctx.model.id)
        version = repo.uploaded_version(ctx.model.id)
        if version is not None:
            key, kind, start, end = f"uploaded:{version}", "uploaded", None, None
            source = uploaded_reference(ctx.model.id)
        elif stored is not None:
            return {"reference": stored.reference_key, "rebuilt": False}
        elif ctx.settings.reference_policy == "uploaded":
            return {"reference": None, "waiting": "no uploaded reference"}
        else:
            horizon = ctx.state.horizon()
            start = repo.first_window(ctx.model.id, ctx.settings.window, ctx.settings.reference_min_rows, horizon)
            if start is None:
                return {"reference": None, "waiting": f"no window with {ctx.settings.reference_min_rows} rows yet"}
            end = ctx.window_end(start)
            key, kind = f"window:{start.isoformat()}", "first_window"
            source = predictions(ctx.model.id, start, end, horizon)
        if stored is not None and stored.reference_key == key:
            return {"reference": key, "rebuilt": False}

        rows, labeled = repo.counts(source)
        features = [self._bins(repo, source, slot) for slot in ctx.layout.slots]
        perf_repo = PerformanceRepository(ctx.conn)
        perf = perf_repo.compute(ctx.model, source)
        stats = next(iter(perf.values()))[2] if perf else None
        fit = perf_repo.fit_estimation(ctx.model, source) if stats is not None else None
        if fit is not None:
            assert stats is not None
            # calibration and sampling-error components: the estimate of every window is made with them
            stats = stats | {"estimation": fit}
        reference = StoredReference(
            key, kind, start, end, rows, labeled, stats, performance.metrics(stats) if stats else None
        )
        repo.replace(ctx.model.id, reference, features)
        store_reference_segments(ctx, source, {f.feature: f for f in features})
        # every result is recomputed against the new reference; what was delivered stays delivered
        ctx.state.reset_all_but(ctx.model.id, ["notify"])
        return {
            "reference": key,
            "rebuilt": True,
            "rows": rows,
            "labeled": labeled,
            "previous": stored.reference_key if stored else None,
        }

    def _bins(self, repo: ReferenceRepository, source: Source, slot: Slot) -> FeatureBins:
        if slot.kind == "categorical":
            counts, missing = repo.category_counts(source, slot)
            if slot.source == "label":
                missing = 0  # only labelled rows count for the label
            counted = CategoricalSketch(counts, missing)
            return FeatureBins(slot.feature, "categorical", slot.source, slot.position, None, None, counted.to_dict())
        values = repo.numeric_values(source, slot)
        values[~(np.abs(values) < MAX_ABS)] = np.nan  # as the SQL side: beyond 1e150 is missing
        finite = values[np.isfinite(values)]
        if slot.source == "label":
            values = finite
        edges = list(fit_edges(finite)) if finite.size else EMPTY_EDGES
        segments = (
            np.unique(np.quantile(finite, DECILES, method="inverted_cdf")).tolist()
            if finite.size and slot.source == "feature"
            else []
        )
        sketch = sketch_values(values, tuple(edges))
        return FeatureBins(
            slot.feature, "numeric", slot.source, slot.position, edges, segments, sketch.to_dict(include_edges=False)
        )
