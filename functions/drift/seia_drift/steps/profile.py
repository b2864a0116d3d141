"""Profile new rows into hourly sketches (COPY out, numpy counts) and merge them additively."""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from typing import Any

from seia_drift.repositories.sketches import SketchRepository
from seia_drift.repositories.state import Watermark
from seia_drift.stats import CategoricalSketch, NumericSketch
from seia_drift.steps.base import Context, Step

log = logging.getLogger(__name__)
CHUNK_ROWS = 250_000  # rows per counting query: bounds the server's hash tables and our memory


class ProfileStep(Step):
    """New prediction rows → hourly sketches of every feature, the score and the predicted label.

    New rows are those of transactions in ``[watermark, horizon)``, the horizon being the oldest
    transaction still running: a transaction that commits late is taken on a later run, never
    skipped, and never twice. A late row for an old hour is added to that hour's sketch.
    """

    name = "profile"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        repo = SketchRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        horizon = ctx.state.horizon()
        first, last, n = repo.new_rows(ctx.model.id, mark.xid, horizon)
        numeric = {s.position: s for s in ctx.layout.numeric}
        categorical = {s.position: s for s in ctx.layout.categorical}
        edges = {pos: bins[s.feature].edges or [] for pos, s in numeric.items()}  # numeric: always edges
        hours: set[datetime] = set()
        written = 0
        if n:
            repo.prepare_counting()
            chunks = max(1, math.ceil(n / CHUNK_ROWS))
            span = math.ceil((last - first + 1) / chunks)
            for k in range(chunks):
                started = time.perf_counter()
                params = {
                    "model": ctx.model.id,
                    "lo": str(mark.xid),
                    "hi": str(horizon),
                    "seq_lo": first + k * span,
                    "seq_hi": first + (k + 1) * span,
                }
                new: dict[tuple[datetime, str], NumericSketch | CategoricalSketch] = {}
                for hour, pos, buckets, counts, missing, mean, m2, lo, hi in repo.numeric_counts(
                    ctx.layout, edges, params
                ):
                    dense = [0] * (len(edges[pos]) + 1)
                    for b, c in zip(buckets or (), counts or ()):
                        dense[b] = c
                    new[(hour, numeric[pos].feature)] = NumericSketch(
                        tuple(edges[pos]), tuple(dense), missing, mean or 0.0, m2 or 0.0, lo, hi
                    )
                for hour, pos, cats, counts, missing in repo.categorical_counts(ctx.layout, params):
                    new[(hour, categorical[pos].feature)] = CategoricalSketch(
                        dict(zip(cats or (), counts or ())), missing
                    )
                written += self._merge(repo, ctx, new)
                hours.update(h for h, _ in new)
                log.info(
                    "profile %s: chunk %d/%d, %d sketches, %.0f ms",
                    ctx.model.name,
                    k + 1,
                    chunks,
                    len(new),
                    1000 * (time.perf_counter() - started),
                )
        ctx.state.set(ctx.model.id, self.name, Watermark(xid=horizon))
        return {"rows": n, "hours": len(hours), "sketches": written}

    def _merge(
        self, repo: SketchRepository, ctx: Context, new: dict[tuple[datetime, str], NumericSketch | CategoricalSketch]
    ) -> int:
        if not new:
            return 0
        hour_list = sorted({h for h, _ in new})
        feature_list = sorted({f for _, f in new})
        existing = repo.existing(ctx.model.id, hour_list, feature_list)
        items = []
        for (hour, feature), sketch in sorted(new.items()):
            old = existing.get((hour, feature))
            if old is not None:
                edges = sketch.edges if isinstance(sketch, NumericSketch) else None
                old_sketch = (
                    NumericSketch.from_dict(old, edges=edges) if edges is not None else CategoricalSketch.from_dict(old)
                )
                sketch = old_sketch.merge(sketch)  # type: ignore[arg-type]  # a feature's sketches share a kind
            data = sketch.to_dict(include_edges=False) if isinstance(sketch, NumericSketch) else sketch.to_dict()
            items.append((hour, feature, sketch.rows, sketch.missing, data))
        repo.upsert(ctx.model.id, items)
        return len(items)
