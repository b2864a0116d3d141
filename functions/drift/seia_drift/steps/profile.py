"""Profile new rows into hourly sketches (COPY out, numpy counts) and merge them additively."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from functools import partial
from typing import Any

from seia.segment_rows import segment_fields
from seia.sparse import unpack_sketch
from seia_drift.prefetch import ConnectionThread
from seia_drift.repositories.reference import FeatureBins
from seia_drift.repositories.segments import SEGMENT_PREDICTION, SegmentRepository
from seia_drift.repositories.sketches import ChunkData, ChunkRows, Segmenting, SketchRepository
from seia_drift.repositories.state import SEGMENTS, Watermark
from seia_drift.stats import CategoricalSketch, NumericSketch
from seia_drift.steps.base import Context, Step
from seia_drift.steps.multivariate import NAME as MULTIVARIATE
from seia_drift.steps.multivariate import shared_errors

log = logging.getLogger(__name__)
CHUNK_ROWS = 250_000  # rows per counting query: bounds the server's hash tables and our memory


class ProfileStep(Step):
    """New prediction rows → hourly sketches of every feature, the score and the predicted label.

    New rows are those of transactions in ``[watermark, horizon)``, the horizon being the oldest
    transaction still running: a transaction that commits late is taken on a later run, never
    skipped, and never twice. A late row for an old hour is added to that hour's sketch.

    The same read of each chunk also counts the rows' cause segments (when their watermark is this
    step's) and the multivariate step's hourly reconstruction errors (when its fit is current and its
    watermark is this step's: :func:`seia_drift.steps.multivariate.shared_errors`), so each new row is
    read once; those watermarks move here, in this step's transaction.
    """

    name = "profile"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        repo = SketchRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        horizon = ctx.state.horizon()
        first, last, n = repo.new_rows(ctx.rows, mark.xid, horizon)
        numeric = {s.position: s for s in ctx.layout.numeric}
        categorical = {s.position: s for s in ctx.layout.categorical}
        edges = {pos: bins[s.feature].edges or [] for pos, s in numeric.items()}  # numeric: always edges
        by_feature = {s.feature: tuple(edges[pos]) for pos, s in numeric.items()}
        hours: set[datetime] = set()
        written = 0
        segmenting = self._segmenting(ctx, bins, mark)
        errors = shared_errors(ctx, stored, mark.xid)
        rows = ChunkRows() if errors is not None else None
        if n:
            repo.prepare_counting()
            chunks = repo.chunks(ctx.rows, mark.xid, horizon, first, last, n, CHUNK_ROWS)
            for params in chunks:
                params["focus"] = ctx.model.positive_label  # binary: the segments' prediction without a score

            def fetch(params: dict[str, Any], part: str) -> ChunkData:
                return repo.fetch(ctx.layout, params, ctx.rows, segmenting, keep=rows is not None, parts=(part,))

            def store(new: dict[tuple[datetime, str], Any], segment_rows: list[Any], mv_new: Any) -> int:
                stored = self._merge(repo, ctx, new, by_feature)
                if segmenting is not None:
                    SegmentRepository(ctx.conn).add_hours(ctx.model.id, segment_rows)
                if errors is not None and mv_new is not None:
                    errors.store(mv_new)
                return stored

            # Every statement in one background thread, in this order: read chunk 0 (numeric, then categorical
            # values); then, while chunk k's numeric values are counted here, read its categorical values and
            # store chunk k - 1's counts; while its categorical values are counted, read chunk k + 1
            # (seia_drift.prefetch). At most one chunk is read ahead.
            stores = []
            with ConnectionThread() as db:

                def read(k: int) -> tuple[Future[ChunkData], Future[ChunkData]]:
                    return db.submit(fetch, chunks[k], "numeric"), db.submit(fetch, chunks[k], "categorical")

                ahead = read(0)

                def categorical_values(k: int, pending: Future[ChunkData]) -> ChunkData:
                    """Chunk k's categorical values, once its numeric ones are counted; starts reading k + 1."""
                    nonlocal ahead
                    data = db.result(pending)
                    if k + 1 < len(chunks):
                        ahead = read(k + 1)
                    return data

                for k in range(len(chunks)):
                    started = time.perf_counter()
                    numeric_read, categorical_read = ahead
                    new = self._count(
                        repo,
                        ctx,
                        chunks[k],
                        db.result(numeric_read),
                        partial(categorical_values, k, categorical_read),
                        edges,
                        numeric,
                        categorical,
                        segmenting,
                        rows,
                    )
                    mv_new = errors.count_chunk(rows) if errors is not None and rows is not None else None
                    segment_rows = segmenting.rows if segmenting is not None else []
                    stores.append(db.submit(store, new, segment_rows, mv_new))
                    hours.update(h for h, _ in new)
                    log.info(
                        "profile %s: chunk %d/%d, %d sketches, counted in %.0f ms",
                        ctx.model.name,
                        k + 1,
                        len(chunks),
                        len(new),
                        1000 * (time.perf_counter() - started),
                    )
                db.drain()
            written = sum(f.result() for f in stores)
        ctx.state.set(ctx.model.id, self.name, Watermark(xid=horizon))
        if segmenting is not None:
            ctx.state.set(ctx.model.id, SEGMENTS, Watermark(xid=horizon))
        if errors is not None:  # its change number stays: the multivariate step judges the changed windows
            done = ctx.state.get(ctx.model.id, MULTIVARIATE)
            ctx.state.set(ctx.model.id, MULTIVARIATE, Watermark(xid=horizon, change=done.change))
        return {
            "rows": n,
            "hours": len(hours),
            "sketches": written,
            "segments": segmenting is not None,
            "multivariate": errors is not None,
        }

    @staticmethod
    def _count(
        repo: SketchRepository,
        ctx: Context,
        params: dict[str, Any],
        numeric_data: ChunkData,
        categorical_data: Callable[[], ChunkData],
        edges: dict[int, list[float]],
        numeric: dict[int, Any],
        categorical: dict[int, Any],
        segmenting: Segmenting | None,
        rows: ChunkRows | None,
    ) -> dict[tuple[datetime, str], dict[str, Any] | CategoricalSketch]:
        """One chunk's hourly sketches (and its segments and kept rows, into ``segmenting`` and ``rows``),
        from its COPY output: numpy and Python only, no statement. ``categorical_data`` is called once the
        numeric values are counted (the categorical values are read meanwhile)."""
        new: dict[tuple[datetime, str], dict[str, Any] | CategoricalSketch] = {}
        if segmenting is not None:
            segmenting.rows = []  # a new list: the previous chunk's may still be being stored
        if rows is not None:
            rows.clear()
        for hour, pos, buckets, counts, missing, mean, m2, lo, hi in repo.numeric_counts(
            ctx.layout, edges, params, ctx.rows, segmenting, rows, numeric_data
        ):
            # NumericSketch.to_dict's values in their stored, packed form (seia.sparse): counted by
            # numpy, so consistent by construction; a sketch object is built only to merge
            new[(hour, numeric[pos].feature)] = {
                "kind": "numeric",
                "missing": missing,
                "mean": mean or 0.0,
                "m2": m2 or 0.0,
                "min": lo,
                "max": hi,
                "size": len(edges[pos]) + 1,
                "bins": buckets or [],
                "bin_counts": counts or [],
            }
        numeric_data.numeric = None  # counted: free it (its future holds the object)
        read = categorical_data()
        for hour, pos, cats, counts, missing in repo.categorical_counts(
            ctx.layout, params, ctx.rows, segmenting, rows, read
        ):
            new[(hour, categorical[pos].feature)] = CategoricalSketch(dict(zip(cats or (), counts or ())), missing)
        read.categorical = None
        return new

    def _segmenting(self, ctx: Context, bins: dict[str, FeatureBins], mark: Watermark) -> Segmenting | None:
        """How to count the new rows' cause segments here, or None when the labels step recomputes them.

        The stored segments hold every row below the ``segments`` watermark. When it equals this step's
        watermark, the rows about to be read are exactly the ones missing, and they are added with no
        label (the labels step recomputes any hour where a row has one). Otherwise (state written before
        this step counted segments, or multiclass models, whose segments carry per-class counts) the
        labels step recomputes every touched hour, as it always did, and then moves the watermark.
        """
        pred = SEGMENT_PREDICTION.get(ctx.model.task)
        if pred is None or ctx.state.get(ctx.model.id, SEGMENTS).xid != mark.xid:
            return None
        deciles = {s.feature: bins[s.feature].segments or [] for s in ctx.layout.numeric}
        return Segmenting(pred, deciles, tuple(segment_fields(ctx.model)))

    def _merge(
        self,
        repo: SketchRepository,
        ctx: Context,
        new: dict[tuple[datetime, str], dict[str, Any] | CategoricalSketch],
        edges: dict[str, tuple[float, ...]],
    ) -> int:
        if not new:
            return 0
        hour_list = sorted({h for h, _ in new})
        feature_list = sorted({f for _, f in new})
        existing = repo.existing(ctx.model.id, hour_list, feature_list)
        items = []
        for (hour, feature), sketch in sorted(new.items(), key=lambda kv: kv[0]):
            old = existing.get((hour, feature))
            if isinstance(sketch, CategoricalSketch):
                if old is not None:
                    sketch = CategoricalSketch.from_dict(old).merge(sketch)
                items.append((hour, feature, sketch.rows, sketch.missing, sketch.to_dict()))
                continue
            if old is None:  # a new hour: its packed dict is what is stored
                rows = sum(sketch["bin_counts"]) + sketch["missing"]
                items.append((hour, feature, rows, sketch["missing"], sketch))
                continue
            merged = NumericSketch.from_dict(old, edges=edges[feature]).merge(
                NumericSketch.from_dict(unpack_sketch(sketch), edges=edges[feature])
            )
            items.append((hour, feature, merged.rows, merged.missing, merged.to_dict(include_edges=False)))
        repo.upsert(ctx.model.id, items)
        return len(items)
