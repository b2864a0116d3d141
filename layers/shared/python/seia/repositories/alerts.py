"""Rows of the alert tables (drift_alerts, drift_causes).

The drift engine writes them (``seia_drift.repositories.alerts``) and the query API reads and
acknowledges them (``seia.repositories.drift``); each keeps its own SQL, both use these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AlertRow:
    """An alert (drift_alerts): one condition, window and reference."""

    id: int
    granularity: str
    window_start: datetime
    kind: str
    subject: str
    condition: str
    severity: str
    message: str
    details: dict
    reference_key: str
    status: str
    created_at: datetime
    notify_attempts: int


@dataclass(frozen=True)
class CauseRow:
    """A ranked probable cause of an alert (drift_causes)."""

    alert_id: int
    rank: int
    feature: str
    segment: str | None
    score: float
    sentence: str
    details: dict
