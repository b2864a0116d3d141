"""Multivariate drift: new rows → hourly reconstruction-error sketches → a verdict per changed window."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from seia.jsonutil import finite as clean
from seia_drift import multivariate as mv
from seia_drift.repositories.multivariate import MultivariateRepository, epoch_hour
from seia_drift.repositories.reference import StoredReference
from seia_drift.repositories.results import ResultRepository
from seia_drift.repositories.sketches import SketchRepository
from seia_drift.repositories.sources import Rows, Source, predictions, uploaded_reference
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import WINDOW_LENGTH, Context, Step

log = logging.getLogger(__name__)
CHUNK_ROWS = 250_000  # rows per read: bounds our memory (the rows' values travel into numpy)


def reference_source(rows: Rows, stored: StoredReference) -> Source:
    if stored.source == "uploaded":
        return uploaded_reference(rows)
    assert stored.window_start is not None and stored.window_end is not None  # a first window records its range
    return predictions(rows, stored.window_start, stored.window_end)


class MultivariateStep(Step):
    """The reference's PCA (fitted again when the reference or ``multivariate_variance`` changes), then new prediction rows projected
    on it: each hour's reconstruction-error sketch, merged additively (a late row updates its hour), and
    the ``__multivariate__`` result of every window whose hours changed.

    New rows are those of transactions in ``[watermark.xid, horizon)``, as for the profile step (its
    own watermark); changed windows are read by the change number of the hourly sketches. Both move in
    the step's transaction, with the results.
    """

    name = "multivariate"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, _ = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        repo = MultivariateRepository(ctx.conn)
        model_id = ctx.model.id
        mark = ctx.state.get(model_id, self.name)
        report: dict[str, Any] = {}
        found = repo.fit(model_id)
        if (
            found is None
            or found[0] != stored.reference_key
            or (found[1] is not None and found[1]["variance"] != ctx.settings.multivariate_variance)
        ):
            fit = self._fit(ctx, repo, stored)
            repo.replace_fit(model_id, stored.reference_key, fit)
            mark = Watermark()  # every row again, against the new fit
            report["fitted"] = stored.reference_key
        else:
            fit = found[1]
        horizon = ctx.state.horizon()
        if fit is None:
            ctx.state.set(model_id, self.name, Watermark(xid=horizon, change=mark.change))
            return report | {"skipped": "fewer than two encoded columns or too few reference rows"}
        report["components"] = fit["n_components"]
        rows, hours = self._profile(ctx, repo, fit, mark, horizon)
        # Both stored granularities, as the drift step stores them (tenant migration 0011); incidents
        # follow the model's own window. Each window's document is written again with its new column.
        results = ResultRepository(ctx.conn)
        drifted = judged = 0
        change = mark.change
        for granularity in ("hour", "day"):
            windows, change = repo.changed_windows(model_id, granularity, mark.change)
            flagged = sum(self._window(ctx, repo, fit, start, granularity) for start in windows)
            results.render_documents(model_id, granularity, windows)
            if granularity == ctx.settings.window:
                drifted, judged = flagged, len(windows)
        ctx.state.set(model_id, self.name, Watermark(xid=horizon, change=change))
        return report | {"rows": rows, "hours": hours, "windows": judged, "drifted": drifted}

    def _fit(self, ctx: Context, repo: MultivariateRepository, stored: StoredReference) -> dict[str, Any] | None:
        numeric = [s for s in ctx.layout.numeric if s.source == "feature"]
        categorical = [s for s in ctx.layout.categorical if s.source == "feature"]
        if len(numeric) + len(categorical) == 0:
            return None
        _, num, cat = repo.reference_values(
            reference_source(ctx.rows, stored), [s.position for s in numeric], [s.position for s in categorical]
        )
        features = [(s.feature, s.kind, s.position) for s in numeric + categorical]
        return mv.fit(features, mv.canonical(mv.Columns(num, cat)), ctx.settings.multivariate_variance)

    def _profile(
        self, ctx: Context, repo: MultivariateRepository, fit: dict[str, Any], mark: Watermark, horizon: int
    ) -> tuple[int, int]:
        first, last, n = SketchRepository(ctx.conn).new_rows(ctx.rows, mark.xid, horizon)
        if not n:
            return 0, 0
        numeric = [c["position"] for c in fit["numeric"]]
        categorical = [c["position"] for c in fit["categorical"]]
        chunks = SketchRepository.chunks(ctx.rows, mark.xid, horizon, first, last, n, CHUNK_ROWS)
        touched: set[datetime] = set()
        for k, params in enumerate(chunks):
            started = time.perf_counter()
            hours, num, cat = repo.new_values(numeric, categorical, params, ctx.rows)
            if not hours:
                continue
            import numpy as np

            by_hour = mv.sketches_by(fit, np.asarray(hours, dtype=np.int64), mv.Columns(num, cat))
            new = {epoch_hour(h): s for h, s in by_hour.items()}
            old = repo.existing(ctx.model.id, sorted(new))
            items = [(h, mv.merge([old[h], s]) if h in old else s) for h, s in sorted(new.items())]
            repo.upsert(ctx.model.id, [(h, s) for h, s in items if s is not None])
            touched.update(new)
            log.info(
                "multivariate %s: chunk %d/%d, %d hours, %.0f ms",
                ctx.model.name,
                k + 1,
                len(chunks),
                len(new),
                1000 * (time.perf_counter() - started),
            )
        return n, len(touched)

    def _window(
        self, ctx: Context, repo: MultivariateRepository, fit: dict[str, Any], start: datetime, granularity: str
    ) -> int:
        merged = mv.merge(repo.window(ctx.model.id, start, start + WINDOW_LENGTH[granularity]))
        t = ctx.settings.thresholds
        v = mv.judge(fit, merged, ctx.settings.min_rows, t.medium_factor, t.high_factor)
        stats = {
            k: [{**c, "ref": clean(c["ref"]), "cur": clean(c["cur"])} for c in val]
            if k == "contributions"
            else clean(val)
            for k, val in v.statistics.items()
        }
        repo.save_result(
            ctx.model.id,
            granularity,
            start,
            mv.MULTIVARIATE,
            int(merged["n"]) if merged else 0,
            v.verdict,
            v.severity,
            clean(v.effect_ratio),
            stats,
        )
        return int(v.verdict == "drift")
