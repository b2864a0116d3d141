"""Delivery state of incident changes (``deliveries``) as the API shows it, and tenant-wide settings.

The drift worker writes deliveries (``seia_drift.repositories.deliveries``); the query API reads them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class DeliveryView:
    """One incident change on one channel."""

    channel: str
    channel_type: str
    change: str
    change_at: datetime
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


class DeliveryRepository:
    FOR_INCIDENT = """
        SELECT d.channel_label AS channel, d.channel_type, c.change, c.at AS change_at, d.status, d.attempts,
               d.last_error, CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.sent_at
        FROM deliveries d JOIN incident_changes c ON c.id = d.change_id
        WHERE d.model_id IN (SELECT f.id FROM models f WHERE f.id = %(model)s OR f.parent_id = %(model)s)
          AND c.incident_id = %(incident)s
        ORDER BY c.id, d.channel_label"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def for_incident(self, model_id: int, incident_id: int) -> list[DeliveryView]:
        with self.conn.cursor(row_factory=class_row(DeliveryView)) as cur:
            # the model's or one of its segment models' (tenant migration 0013)
            return cur.execute(self.FOR_INCIDENT, {"model": model_id, "incident": incident_id}).fetchall()


class TenantSettingsRepository:
    GET = "SELECT value FROM tenant_settings WHERE key = %s"
    PUT = """
        INSERT INTO tenant_settings (key, value) VALUES (%s, %s)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()"""
    DELETE = "DELETE FROM tenant_settings WHERE key = %s"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def get(self, key: str) -> Any:
        row = self.conn.execute(self.GET, (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: Any) -> None:
        self.conn.execute(self.PUT, (key, Jsonb(value)))

    def delete(self, key: str) -> None:
        self.conn.execute(self.DELETE, (key,))
