"""Per-model drift settings, read from ``models.settings`` (JSON).

Every key, its range and its default is registered in :mod:`seia.registry` (the same rules the API
checks on ``PUT /v1/models/{model}/settings``); this module only gives the engine typed access.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seia.registry import REGISTRY
from seia_drift.stats import Thresholds


def _default(path: str) -> Any:
    return field(default_factory=lambda: REGISTRY.default(path))


@dataclass(frozen=True)
class DriftSettings:
    window: str = _default("window")
    thresholds: Thresholds = field(default_factory=Thresholds)
    coverage_threshold: float = _default("coverage_threshold")
    accuracy_drop: float = _default("performance_drop.accuracy")
    rmse_rise: float = _default("performance_drop.rmse")
    reference_policy: str = _default("reference_policy")
    reference_min_rows: int = _default("reference_min_rows")
    resolve_after: int = _default("resolve_after")
    multivariate_variance: float = _default("multivariate_variance")
    segment_top_values: int = _default("segment_top_values")
    webhook_url: str | None = _default("webhook_url")
    # The model's channels as stored (None: the tenant's default applies); see seia.channels.
    notifications: list[dict[str, Any]] | None = _default("notifications")

    @property
    def min_rows(self) -> int:
        return self.thresholds.min_rows

    @classmethod
    def from_model(cls, settings: Mapping[str, Any] | None) -> DriftSettings:
        """Parse a model's settings; raises ValueError naming the bad key."""
        s = dict(settings or {})
        drop = s.get("performance_drop")
        if drop is not None and not isinstance(drop, Mapping):
            s["performance_drop"] = {"accuracy": drop}  # settings stored before performance_drop was an object
        problems = REGISTRY.problems(s, unknown_keys=False)
        if problems:
            key, message = problems[0]
            raise ValueError(f"settings.{key} {message}")
        value = REGISTRY.resolve(s)
        return cls(
            window=value["window"],
            thresholds=Thresholds.from_settings(s),
            coverage_threshold=float(value["coverage_threshold"]),
            accuracy_drop=float(value["performance_drop.accuracy"]),
            rmse_rise=float(value["performance_drop.rmse"]),
            reference_policy=value["reference_policy"],
            reference_min_rows=int(value["reference_min_rows"]),
            resolve_after=int(value["resolve_after"]),
            multivariate_variance=float(value["multivariate_variance"]),
            segment_top_values=int(value["segment_top_values"]),
            webhook_url=value["webhook_url"],
            notifications=value["notifications"],
        )
