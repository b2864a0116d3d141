"""Realized performance per evaluation window, with label coverage and the provisional flag."""

from __future__ import annotations

from typing import Any

from seia_drift import performance
from seia_drift.repositories.performance import PerformanceRepository
from seia_drift.repositories.results import ResultRepository
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import Context, Step


class PerformanceStep(Step):
    """Windows whose hourly performance statistics changed → metrics, coverage, provisional."""

    name = "performance"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, _ = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        perf, results = PerformanceRepository(ctx.conn), ResultRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        gran = ctx.settings.window
        windows, change = perf.changed_windows(ctx.model.id, gran, mark.change)
        provisional_windows = 0
        for start in windows:
            end = ctx.window_end(start)
            rows, labeled, stats = perf.window(ctx.model.id, start, end)
            coverage = labeled / rows if rows else None
            provisional = coverage is None or coverage < ctx.settings.coverage_threshold
            provisional_windows += provisional
            results.save_performance(
                ctx.model.id, gran, start, end, labeled, coverage, provisional, performance.metrics(stats)
            )
        ctx.state.set(ctx.model.id, self.name, Watermark(change=change))
        return {"windows": len(windows), "provisional": provisional_windows}
