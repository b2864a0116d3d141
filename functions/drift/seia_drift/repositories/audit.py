"""What the audit step reads and writes: rows older versions stored out of range, and its finding."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from seia.timeutil import EARLIEST
from seia_drift.repositories.sources import TS_OUT_OF_RANGE

# The finding is an incident of its own (kind data_quality) so that it is listed with the others; one per
# model, its summary and details updated when what it counts changes (a new one once a user resolved it).
FINDING_SUBJECT, FINDING_CONDITION, FINDING_REFERENCE = "stored_data", "invalid_stored_data", "stored-data"


class AuditRepository:
    # The (model_id, ts) index answers both ranges; ground truths' and reference rows' own timestamps are not
    # read by the engine, so they cannot break it and are not scanned here.
    OUT_OF_RANGE = "SELECT count(*) FROM predictions p WHERE p.model_id = %s AND " + TS_OUT_OF_RANGE
    LATEST = """
        SELECT id, status, details FROM incidents
        WHERE model_id = %s AND kind = 'data_quality' AND subject = %s AND condition = %s AND reference_key = %s
        ORDER BY id DESC LIMIT 1"""
    INSERT = """
        INSERT INTO incidents (model_id, kind, subject, condition, reference_key, granularity, severity,
                               peak_severity, first_window_start, last_window_end, windows_flagged, summary, details)
        VALUES (%(model)s, 'data_quality', %(subject)s, %(condition)s, %(reference)s, %(granularity)s, 'medium',
                'medium', %(window)s, %(window)s + interval '1 hour', 1, %(message)s, %(details)s)
        RETURNING id"""
    UPDATE = "UPDATE incidents SET summary = %s, details = %s, updated_at = now() WHERE id = %s"
    OPENED = (
        "INSERT INTO incident_changes (incident_id, model_id, change, severity) VALUES (%s, %s, 'opened', 'medium')"
    )

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def predictions_out_of_range(self, model_id: int) -> int:
        row = self.conn.execute(self.OUT_OF_RANGE, (model_id,)).fetchone()
        assert row is not None  # count(*) without GROUP BY always returns one row
        count: int = row[0]
        return count

    def record(self, model_id: int, granularity: str, message: str, details: dict[str, Any]) -> int | None:
        """Open or update the model's stored-data finding; its id when it changed."""
        latest = self.conn.execute(
            self.LATEST, (model_id, FINDING_SUBJECT, FINDING_CONDITION, FINDING_REFERENCE)
        ).fetchone()
        if latest is not None and latest[2] == details:
            return None
        if latest is not None and latest[1] != "resolved":
            self.conn.execute(self.UPDATE, (message, Jsonb(details), latest[0]))
            changed: int = latest[0]
            return changed
        row = self.conn.execute(
            self.INSERT,
            {
                "model": model_id,
                "granularity": granularity,
                "window": EARLIEST,
                "subject": FINDING_SUBJECT,
                "condition": FINDING_CONDITION,
                "message": message,
                "details": Jsonb(details),
                "reference": FINDING_REFERENCE,
            },
        ).fetchone()
        assert row is not None  # INSERT ... RETURNING returns the row
        self.conn.execute(self.OPENED, (row[0], model_id))
        new_id: int = row[0]
        return new_id
