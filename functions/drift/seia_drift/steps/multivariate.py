"""Multivariate drift: new rows → hourly reconstruction-error sketches → a verdict per changed window."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from seia.jsonutil import finite as clean
from seia_drift import multivariate as mv
from seia_drift.layout import Layout
from seia_drift.repositories.multivariate import MultivariateRepository, epoch_hour
from seia_drift.repositories.reference import StoredReference
from seia_drift.repositories.results import ResultRepository
from seia_drift.repositories.sketches import MAX_ABS, ChunkRows, SketchRepository
from seia_drift.repositories.sources import Rows, Source, predictions, uploaded_reference
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import WINDOW_LENGTH, Context, Step

log = logging.getLogger(__name__)
CHUNK_ROWS = 250_000  # rows per read: bounds our memory (the rows' values travel into numpy)
NAME = "multivariate"  # the step's name, and its watermark's
PROFILE = "profile"  # the profile step's watermark (that step imports this module)


def reference_source(rows: Rows, stored: StoredReference) -> Source:
    if stored.source == "uploaded":
        return uploaded_reference(rows)
    assert stored.window_start is not None and stored.window_end is not None  # a first window records its range
    return predictions(rows, stored.window_start, stored.window_end)


def _fit(ctx: Context, repo: MultivariateRepository, stored: StoredReference) -> dict[str, Any] | None:
    numeric = [s for s in ctx.layout.numeric if s.source == "feature"]
    categorical = [s for s in ctx.layout.categorical if s.source == "feature"]
    if len(numeric) + len(categorical) == 0:
        return None
    _, num, cat = repo.reference_values(
        reference_source(ctx.rows, stored), [s.position for s in numeric], [s.position for s in categorical]
    )
    features = [(s.feature, s.kind, s.position) for s in numeric + categorical]
    return mv.fit(features, mv.canonical(mv.Columns(num, cat)), ctx.settings.multivariate_variance)


def current_fit(
    ctx: Context, repo: MultivariateRepository, stored: StoredReference
) -> tuple[dict[str, Any] | None, bool]:
    """(the fit of the current reference and ``multivariate_variance``, whether it was fitted now).

    A new fit replaces the stored one, drops the hourly sketches of the old one and moves the step's
    watermark back to the start: every row is profiled again against it, every window judged again.
    """
    model_id = ctx.model.id
    found = repo.fit(model_id)
    if (
        found is not None
        and found[0] == stored.reference_key
        and (found[1] is None or found[1]["variance"] == ctx.settings.multivariate_variance)
    ):
        return found[1], False
    fit = _fit(ctx, repo, stored)
    repo.replace_fit(model_id, stored.reference_key, fit)
    ctx.state.set(model_id, NAME, Watermark())
    return fit, True


class HourlyErrors:
    """New rows → their hourly reconstruction-error sketches, merged into the stored ones (a late row
    updates its hour). Fed by the multivariate step's own read, or by the profile step's read of the same
    chunk (:meth:`add_chunk`)."""

    def __init__(self, conn: Any, model_id: int, fit: dict[str, Any]):
        self.repo = MultivariateRepository(conn)
        self.model_id = model_id
        self.fit = fit
        self.numeric = [c["position"] for c in fit["numeric"]]
        self.categorical = [c["position"] for c in fit["categorical"]]
        self.hours: set[datetime] = set()

    def covers(self, layout: Layout) -> bool:
        """Whether the profile step's read (the layout's feature slots) holds every column of the fit."""
        return set(self.numeric) <= {s.position for s in layout.numeric if s.source == "feature"} and set(
            self.categorical
        ) <= {s.position for s in layout.categorical if s.source == "feature"}

    def add_chunk(self, rows: ChunkRows) -> None:
        """The profile step's chunk of rows (the same rows the multivariate step would read): values the
        step's read holds as missing (NULL, NaN, ±Infinity, beyond ±1e150) are missing here too."""
        self.store(self.count_chunk(rows))

    def count_chunk(self, rows: ChunkRows) -> dict[datetime, dict[str, Any]]:
        """The hourly sketches of the profile step's chunk, by hour, without touching the database (the
        profile step reads its next chunk meanwhile); :meth:`store` merges them into the stored ones."""
        import numpy as np

        aligned = rows.aligned()
        if aligned is None:
            return {}
        hours, numeric, categorical = aligned
        n = len(hours)
        matrix = np.empty((n, len(self.numeric)))
        for j, position in enumerate(self.numeric):
            values = numeric[position]
            matrix[:, j] = np.where(np.abs(values) < float(MAX_ABS), values, np.nan)
        coded = [mv.Coded(*categorical[position]) for position in self.categorical]
        by_hour = mv.sketches_by(self.fit, np.asarray(hours, dtype=np.int64), mv.Columns(matrix, coded))
        return {epoch_hour(h): s for h, s in by_hour.items()}

    def add(self, hours: Any, columns: mv.Columns) -> None:
        by_hour = mv.sketches_by(self.fit, hours, columns)
        self.store({epoch_hour(h): s for h, s in by_hour.items()})

    def store(self, new: dict[datetime, dict[str, Any]]) -> None:
        """Merge hourly sketches into the stored ones."""
        if not new:
            return
        old = self.repo.existing(self.model_id, sorted(new))
        items = [(h, mv.merge([old[h], s]) if h in old else s) for h, s in sorted(new.items())]
        self.repo.upsert(self.model_id, [(h, s) for h, s in items if s is not None])
        self.hours.update(new)


def shared_errors(ctx: Context, stored: StoredReference, profile_xid: int) -> HourlyErrors | None:
    """The multivariate step's hourly sketches, to be counted in the profile step's pass, or None when
    that step reads its rows itself: no current fit (the fit step did not run), a fit of columns the
    profile step does not read (a feature removed since), or its watermark elsewhere than the profile
    step's (a new fit starts again from the first row)."""
    found = MultivariateRepository(ctx.conn).fit(ctx.model.id)
    if found is None or found[1] is None or found[0] != stored.reference_key:
        return None
    if found[1]["variance"] != ctx.settings.multivariate_variance:
        return None
    if ctx.state.get(ctx.model.id, NAME).xid != profile_xid:
        return None
    errors = HourlyErrors(ctx.conn, ctx.model.id, found[1])
    return errors if errors.covers(ctx.layout) else None


class MultivariateFitStep(Step):
    """The reference's PCA (:func:`current_fit`), fitted again when the reference or
    ``multivariate_variance`` changes. Before the profile step, so that its pass over the new rows also
    counts their reconstruction errors (:func:`shared_errors`)."""

    name = "multivariate_fit"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, _ = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        fit, fitted = current_fit(ctx, MultivariateRepository(ctx.conn), stored)
        return {"fitted": stored.reference_key if fitted else None, "components": fit["n_components"] if fit else 0}


class MultivariateStep(Step):
    """New prediction rows projected on the reference's PCA (:class:`MultivariateFitStep`; fitted here if
    that step did not run): each hour's reconstruction-error sketch, merged additively (a late row
    updates its hour), and the ``__multivariate__`` result of every window whose hours changed.

    New rows are those of transactions in ``[watermark.xid, horizon)``, the horizon being the profile
    step's watermark. The profile step counts them in its own pass and moves this watermark when it can
    (:func:`shared_errors`); the rows it did not take (after a new fit: all of them) are read here. Changed windows are read by the
    change number of the hourly sketches. Both move in the step's transaction, with the results.
    """

    name = NAME

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, _ = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        repo = MultivariateRepository(ctx.conn)
        model_id = ctx.model.id
        report: dict[str, Any] = {}
        fit, fitted = current_fit(ctx, repo, stored)
        if fitted:
            report["fitted"] = stored.reference_key
        mark = ctx.state.get(model_id, self.name)
        # The profile step's horizon, not a newer one (as the labels step): the rows below it are those the
        # univariate sketches hold, and a watermark equal to the profile step's lets its next pass count
        # the next rows' errors. Never below this step's own mark (state of an older version): no row twice.
        horizon = max(mark.xid, ctx.state.get(model_id, PROFILE).xid)
        if fit is None:
            ctx.state.set(model_id, self.name, Watermark(xid=horizon, change=mark.change))
            return report | {"skipped": "fewer than two encoded columns or too few reference rows"}
        report["components"] = fit["n_components"]
        rows, hours = self._profile(ctx, fit, mark, horizon)
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

    def _profile(self, ctx: Context, fit: dict[str, Any], mark: Watermark, horizon: int) -> tuple[int, int]:
        """The new rows the profile step's pass did not take (all of them after a new fit), read here."""
        first, last, n = SketchRepository(ctx.conn).new_rows(ctx.rows, mark.xid, horizon)
        if not n:
            return 0, 0
        errors = HourlyErrors(ctx.conn, ctx.model.id, fit)
        chunks = SketchRepository.chunks(ctx.rows, mark.xid, horizon, first, last, n, CHUNK_ROWS)
        for k, params in enumerate(chunks):
            started = time.perf_counter()
            hours, num, cat = errors.repo.new_values(errors.numeric, errors.categorical, params, ctx.rows)
            if not len(hours):
                continue
            import numpy as np

            errors.add(np.asarray(hours, dtype=np.int64), mv.Columns(num, cat))
            log.info(
                "multivariate %s: chunk %d/%d, %.0f ms",
                ctx.model.name,
                k + 1,
                len(chunks),
                1000 * (time.perf_counter() - started),
            )
        return n, len(errors.hours)

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
