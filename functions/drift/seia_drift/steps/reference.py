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
        version = repo.uploaded_version(ctx.rows)
        # Features added by PATCH that the stored reference has no values of (docs/lifecycle.md): an uploaded
        # reference waits for an upload that includes them; a first-window one moves to the first window
        # whose rows carry every feature.
        uncovered = self._uncovered(repo, ctx) if stored is not None else []
        added = ctx.layout.added
        need_num = max((s.position for s in added if s.kind == "numeric"), default=0)
        need_cat = max((s.position for s in added if s.kind == "categorical"), default=0)
        horizon = ctx.state.horizon()
        if version is not None:
            key, kind, start, end = f"uploaded:{version}", "uploaded", None, None
            source = uploaded_reference(ctx.rows)
        elif stored is not None and not (uncovered and stored.source == "first_window"):
            return self._kept(ctx, repo, stored, uncovered)
        elif ctx.settings.reference_policy == "uploaded":
            if stored is not None:
                return self._kept(ctx, repo, stored, uncovered)
            return {"reference": None, "waiting": "no uploaded reference"}
        else:
            start = None
            if added:  # a window's rows may have arrived since: the same window, now covering, is built again
                start = repo.first_covering_window(
                    ctx.rows, ctx.settings.window, ctx.settings.reference_min_rows, horizon, need_num, need_cat
                )
            if start is None and stored is not None:
                return self._kept(ctx, repo, stored, uncovered)
            if start is None:
                start = repo.first_window(ctx.rows, ctx.settings.window, ctx.settings.reference_min_rows, horizon)
            if start is None:
                return {"reference": None, "waiting": f"no window with {ctx.settings.reference_min_rows} rows yet"}
            end = ctx.window_end(start)
            key, kind = f"window:{start.isoformat()}", "first_window"
            source = predictions(ctx.rows, start, end, horizon)
        if stored is not None and stored.reference_key == key and not (uncovered and kind == "first_window"):
            return self._kept(ctx, repo, stored, uncovered)

        rows, labeled = repo.counts(source)
        values = repo.numeric_columns(source, list(ctx.layout.slots))  # every numeric slot in one read
        features = [b for b in (self._bins(repo, source, slot, values) for slot in ctx.layout.slots) if b is not None]
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
        removed = tuple(f.name for f in ctx.model.features if f.removed)
        repo.replace(ctx.model.id, reference, features, keep=removed)
        ctx.layout = ctx.layout.covering(f.feature for f in features)
        store_reference_segments(ctx, source, {f.feature: f for f in features})
        # every result is recomputed against the new reference; what was delivered stays delivered
        ctx.state.reset_all_but(ctx.model.id, ["notify"])
        out = {
            "reference": key,
            "rebuilt": True,
            "rows": rows,
            "labeled": labeled,
            "previous": stored.reference_key if stored else None,
        }
        stored_features = {f.feature for f in features}
        waiting = [s.feature for s in added if s.feature not in stored_features]
        if waiting:
            out["features_waiting"] = waiting
        return out

    def _uncovered(self, repo: ReferenceRepository, ctx: Context) -> list[str]:
        have = {f.feature for f in repo.features(ctx.model.id)}
        return [s.feature for s in ctx.layout.slots if s.source == "feature" and s.feature not in have]

    def _kept(
        self, ctx: Context, repo: ReferenceRepository, stored: StoredReference, uncovered: list[str]
    ) -> dict[str, Any]:
        """The stored reference stays; features it does not cover are not profiled until one does."""
        if uncovered:
            ctx.layout = ctx.layout.covering(f.feature for f in repo.features(ctx.model.id))
            return {"reference": stored.reference_key, "rebuilt": False, "features_waiting": uncovered}
        return {"reference": stored.reference_key, "rebuilt": False}

    def _bins(
        self,
        repo: ReferenceRepository,
        source: Source,
        slot: Slot,
        numeric: dict[str, np.ndarray] | None = None,
    ) -> FeatureBins | None:
        """The slot's bins and reference sketch; None for an added feature none of the reference's rows carry."""
        if slot.kind == "categorical":
            counts, missing = repo.category_counts(source, slot)
            if slot.added and not counts and not missing:
                return None
            if slot.source == "label":
                missing = 0  # only labelled rows count for the label
            counted = CategoricalSketch(counts, missing)
            return FeatureBins(slot.feature, "categorical", slot.source, slot.position, None, None, counted.to_dict())
        found = numeric.get(slot.feature) if numeric is not None else None
        values = found if found is not None else repo.numeric_values(source, slot)
        if slot.added and not values.size:
            return None
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
