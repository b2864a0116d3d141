"""Realized performance per window, with label coverage and the provisional flag, and the performance
estimated from the scores (:mod:`seia.stats.estimation`) beside it.

Every changed hour is evaluated as an hour window and its day as a day window (whatever the model's
evaluation window); the day's merged statistics are kept (drift_performance_daily) for range queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seia.stats import estimation
from seia.stats.performance import split
from seia_drift import performance
from seia_drift.repositories.performance import PerformanceRepository
from seia_drift.repositories.results import ResultRepository
from seia_drift.repositories.state import Watermark
from seia_drift.settings import DriftSettings
from seia_drift.steps.base import Context, Step
from seia_drift.steps.drift import DAY, HOUR, by_day


class PerformanceStep(Step):
    """Hours whose performance statistics changed → metrics, coverage, provisional of the hour and its day."""

    name = "performance"
    tally = "provisional"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, _ = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        mark = ctx.state.get(ctx.model.id, self.name)
        repo, results = PerformanceRepository(ctx.conn), ResultRepository(ctx.conn)
        fit = (stored.performance or {}).get("estimation")  # the reference's calibration
        hours, change = repo.changed_windows(ctx.model.id, "hour", mark.change)
        days = by_day(hours)
        provisional = {"hour": 0, "day": 0}
        for day, changed in days.items():
            per_hour = {
                h: (rows, labeled, stats) for h, rows, labeled, stats in repo.hours(ctx.model.id, day, day + DAY)
            }
            rows = sum(r for r, _, _ in per_hour.values())
            labeled = sum(lab for _, lab, _ in per_hour.values())
            stats = performance.merge_many(s for _, _, s in per_hour.values())
            results.save_performance_day(ctx.model.id, day, rows, labeled, stats)
            provisional["day"] += _save(results, ctx, fit, "day", day, day + DAY, rows, labeled, stats)
            for hour in changed:
                r, lab, s = per_hour.get(hour, (0, 0, None))
                provisional["hour"] += _save(
                    results, ctx, fit, "hour", hour, hour + HOUR, r, lab, performance.merge_many([s])
                )
        ctx.state.set(ctx.model.id, self.name, Watermark(change=change))
        windows = days if ctx.settings.window == "day" else hours
        return {"windows": len(windows), self.tally: provisional[ctx.settings.window]}


def _save(results: ResultRepository, ctx: Context, fit: dict[str, Any] | None, granularity: str, start: datetime,
          end: datetime, rows: int, labeled: int, stats: dict[str, Any] | None) -> int:  # fmt: skip
    settings: DriftSettings = ctx.settings
    coverage = labeled / rows if rows else None
    provisional = coverage is None or coverage < settings.coverage_threshold
    metrics = performance.metrics(stats)
    estimated = estimation.estimate(split(stats)[1], fit, ctx.model.task)
    if estimated is not None:
        metrics["estimated"] = estimated
    results.save_performance(ctx.model.id, granularity, start, end, labeled, coverage, provisional, metrics, rows)
    return int(provisional)
