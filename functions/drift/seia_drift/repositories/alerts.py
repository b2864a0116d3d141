"""Alerts (one per condition, window and reference) and their ranked probable causes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from seia.repositories.alerts import AlertRow as AlertRow  # re-exported: the causes step reads alerts as these
from seia.repositories.alerts import CauseRow


@dataclass(frozen=True)
class NewAlert:
    granularity: str
    window_start: datetime
    kind: str
    subject: str
    condition: str
    severity: str
    message: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Cause:
    """A probable cause as ranked, before it is stored (as a :class:`CauseRow`, with its alert and rank)."""

    feature: str
    segment: str | None
    score: float
    sentence: str
    details: dict[str, Any]


class AlertRepository:
    INSERT = """
        INSERT INTO drift_alerts (model_id, granularity, window_start, kind, subject, condition, severity, message,
                                  details, reference_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, kind, subject, condition, granularity, window_start, reference_key) DO NOTHING
        RETURNING id"""
    COLUMNS = """id, granularity, window_start, kind, subject, condition, severity, message, details,
                 reference_key, status, created_at, notify_attempts"""
    AFTER = f"SELECT {COLUMNS} FROM drift_alerts WHERE model_id = %s AND id > %s ORDER BY id"
    MAX_ID = "SELECT coalesce(max(id), 0) FROM drift_alerts WHERE model_id = %s"
    UNNOTIFIED = f"""
        SELECT {COLUMNS} FROM drift_alerts
        WHERE model_id = %s AND notified_at IS NULL AND notify_attempts < %s ORDER BY id"""
    NOTIFIED = "UPDATE drift_alerts SET notified_at = now(), notify_attempts = notify_attempts + 1 WHERE id = %s"
    NOTIFY_FAILED = """
        UPDATE drift_alerts SET notify_attempts = notify_attempts + 1, notify_error = %s WHERE id = %s"""
    INSERT_CAUSE = """
        INSERT INTO drift_causes (alert_id, rank, feature, segment, score, sentence, details)
        VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (alert_id, rank) DO NOTHING"""
    CAUSES = """
        SELECT alert_id, rank, feature, segment, score, sentence, details FROM drift_causes
        WHERE alert_id = %s ORDER BY rank"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(self, model_id: int, reference_key: str, alert: NewAlert) -> int | None:
        """The new alert's id, or None when this condition was already raised for the window."""
        a = alert
        row = self.conn.execute(
            self.INSERT,
            (
                model_id,
                a.granularity,
                a.window_start,
                a.kind,
                a.subject,
                a.condition,
                a.severity,
                a.message,
                Jsonb(a.details),
                reference_key,
            ),
        ).fetchone()
        return row[0] if row else None

    def after(self, model_id: int, alert_id: int) -> list[AlertRow]:
        with self.conn.cursor(row_factory=class_row(AlertRow)) as cur:
            return cur.execute(self.AFTER, (model_id, alert_id)).fetchall()

    def max_id(self, model_id: int) -> int:
        found = self.conn.execute(self.MAX_ID, (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        max_id: int = found[0]
        return max_id

    def unnotified(self, model_id: int, max_attempts: int) -> list[AlertRow]:
        with self.conn.cursor(row_factory=class_row(AlertRow)) as cur:
            return cur.execute(self.UNNOTIFIED, (model_id, max_attempts)).fetchall()

    def mark_notified(self, alert_id: int) -> None:
        self.conn.execute(self.NOTIFIED, (alert_id,))

    def mark_failed(self, alert_id: int, error: str) -> None:
        self.conn.execute(self.NOTIFY_FAILED, (error[:500], alert_id))

    def save_causes(self, alert_id: int, causes: list[Cause]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                self.INSERT_CAUSE,
                [
                    (alert_id, rank, c.feature, c.segment, c.score, c.sentence, Jsonb(c.details))
                    for rank, c in enumerate(causes, start=1)
                ],
            )

    def causes(self, alert_id: int) -> list[CauseRow]:
        with self.conn.cursor(row_factory=class_row(CauseRow)) as cur:
            return cur.execute(self.CAUSES, (alert_id,)).fetchall()
