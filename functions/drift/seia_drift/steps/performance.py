"""Realized performance per evaluation window, with label coverage and the provisional flag, and the
performance estimated from the scores (:mod:`seia.stats.estimation`) beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seia.repositories.reference import FeatureBins
from seia.stats import estimation
from seia.stats.performance import split
from seia_drift import performance
from seia_drift.repositories.performance import PerformanceRepository
from seia_drift.repositories.reference import ReferenceRepository
from seia_drift.repositories.results import ResultRepository
from seia_drift.steps.base import Context, WindowStep


class PerformanceStep(WindowStep):
    """Windows whose hourly performance statistics changed → metrics, coverage, provisional."""

    name = "performance"
    tally = "provisional"

    _fit: dict[str, Any] | None = None

    def run(self, ctx: Context) -> dict[str, Any]:
        # the reference's calibration, read once per run (not once per window)
        stored = ReferenceRepository(ctx.conn).stored(ctx.model.id)
        self._fit = ((stored.performance or {}) if stored else {}).get("estimation")
        return super().run(ctx)

    def changed_windows(self, ctx: Context, change: int) -> tuple[list[datetime], int]:
        return PerformanceRepository(ctx.conn).changed_windows(ctx.model.id, ctx.settings.window, change)

    def window(self, ctx: Context, bins: dict[str, FeatureBins], start: datetime, end: datetime) -> int:
        rows, labeled, stats = PerformanceRepository(ctx.conn).window(ctx.model.id, start, end)
        coverage = labeled / rows if rows else None
        provisional = coverage is None or coverage < ctx.settings.coverage_threshold
        metrics = performance.metrics(stats)
        estimated = estimation.estimate(split(stats)[1], self._fit, ctx.model.task)
        if estimated is not None:
            metrics["estimated"] = estimated
        ResultRepository(ctx.conn).save_performance(
            ctx.model.id, ctx.settings.window, start, end, labeled, coverage, provisional, metrics
        )
        return int(provisional)
