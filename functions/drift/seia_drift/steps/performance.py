"""Realized performance per evaluation window, with label coverage and the provisional flag."""

from __future__ import annotations

from datetime import datetime

from seia.repositories.reference import FeatureBins
from seia_drift import performance
from seia_drift.repositories.performance import PerformanceRepository
from seia_drift.repositories.results import ResultRepository
from seia_drift.steps.base import Context, WindowStep


class PerformanceStep(WindowStep):
    """Windows whose hourly performance statistics changed → metrics, coverage, provisional."""

    name = "performance"
    tally = "provisional"

    def changed_windows(self, ctx: Context, change: int) -> tuple[list[datetime], int]:
        return PerformanceRepository(ctx.conn).changed_windows(ctx.model.id, ctx.settings.window, change)

    def window(self, ctx: Context, bins: dict[str, FeatureBins], start: datetime, end: datetime) -> int:
        rows, labeled, stats = PerformanceRepository(ctx.conn).window(ctx.model.id, start, end)
        coverage = labeled / rows if rows else None
        provisional = coverage is None or coverage < ctx.settings.coverage_threshold
        ResultRepository(ctx.conn).save_performance(
            ctx.model.id, ctx.settings.window, start, end, labeled, coverage, provisional, performance.metrics(stats)
        )
        return int(provisional)
