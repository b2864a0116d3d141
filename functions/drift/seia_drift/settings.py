"""Per-model drift settings, read from ``models.settings`` (JSON), with documented defaults.

=======================  =====================================================================  =========================
key                      meaning                                                                default
=======================  =====================================================================  =========================
window                   evaluation window, ``"hour"`` or ``"day"`` (sketches are always hourly)  ``"day"``
min_rows                 fewer rows in a window (or reference) give ``insufficient_data``        100
thresholds               effect sizes and FDR of the verdicts (:class:`Thresholds` fields)       Thresholds() defaults
coverage_threshold       label coverage below which a window's performance is provisional       0.5
performance_drop         accuracy drop (absolute) / RMSE rise (relative) that raises an alert   0.05 / 0.2
reference_policy         ``"uploaded_or_first_window"`` or ``"uploaded"``                        uploaded_or_first_window
reference_min_rows       rows a window needs to become the reference (no uploaded reference)    1000
webhook_url              each new alert is POSTed there as JSON                                 none
=======================  =====================================================================  =========================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from seia_drift.stats import Thresholds

WINDOWS = ("hour", "day")
POLICIES = ("uploaded_or_first_window", "uploaded")
_THRESHOLD_KEYS = (
    "wasserstein_normed",
    "js_distance",
    "psi",
    "unseen_share",
    "missing_rate_increase",
    "alpha",
    "medium_factor",
    "high_factor",
)


@dataclass(frozen=True)
class DriftSettings:
    window: str = "day"
    thresholds: Thresholds = field(default_factory=Thresholds)
    coverage_threshold: float = 0.5
    accuracy_drop: float = 0.05
    rmse_rise: float = 0.2
    reference_policy: str = POLICIES[0]
    reference_min_rows: int = 1000
    webhook_url: str | None = None

    @property
    def min_rows(self) -> int:
        return self.thresholds.min_rows

    @classmethod
    def from_model(cls, settings: dict[str, Any] | None) -> DriftSettings:
        """Parse a model's settings; raises ValueError naming the bad key."""
        s = dict(settings or {})
        window = s.get("window", "day")
        if window not in WINDOWS:
            raise ValueError(f"settings.window must be one of {WINDOWS}, got {window!r}")
        raw = s.get("thresholds") or {}
        if not isinstance(raw, dict) or set(raw) - set(_THRESHOLD_KEYS):
            raise ValueError(f"settings.thresholds takes only {_THRESHOLD_KEYS}")
        thresholds = Thresholds(**raw, min_rows=int(s.get("min_rows", 100)))
        coverage = float(s.get("coverage_threshold", 0.5))
        if not 0 <= coverage <= 1:
            raise ValueError("settings.coverage_threshold must be in [0, 1]")
        policy = s.get("reference_policy", POLICIES[0])
        if policy not in POLICIES:
            raise ValueError(f"settings.reference_policy must be one of {POLICIES}")
        url = s.get("webhook_url")
        if url is not None and (not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")):
            raise ValueError("settings.webhook_url must be an http(s) URL")
        drop = s.get("performance_drop", {})
        drop = drop if isinstance(drop, dict) else {"accuracy": drop}
        return cls(
            window=window,
            thresholds=thresholds,
            coverage_threshold=coverage,
            accuracy_drop=float(drop.get("accuracy", 0.05)),
            rmse_rise=float(drop.get("rmse", 0.2)),
            reference_policy=policy,
            reference_min_rows=int(s.get("reference_min_rows", 1000)),
            webhook_url=url,
        )
