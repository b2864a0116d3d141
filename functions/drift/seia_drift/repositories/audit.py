"""What the audit step reads and writes: rows older versions stored out of range, and its finding."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from seia.timeutil import EARLIEST
from seia_drift.repositories.sources import TS_OUT_OF_RANGE

# The finding is an alert of its own (kind data_quality) so that it is listed with the others; one per model,
# its message and details updated when what it counts changes.
FINDING_SUBJECT, FINDING_CONDITION, FINDING_REFERENCE = "stored_data", "invalid_stored_data", "stored-data"


class AuditRepository:
    # The (model_id, ts) index answers both ranges; ground truths' and reference rows' own timestamps are not
    # read by the engine, so they cannot break it and are not scanned here.
    OUT_OF_RANGE = "SELECT count(*) FROM predictions p WHERE p.model_id = %s AND " + TS_OUT_OF_RANGE
    UPSERT = """
        INSERT INTO drift_alerts (model_id, granularity, window_start, kind, subject, condition, severity, message,
                                  details, reference_key)
        VALUES (%(model)s, %(granularity)s, %(window)s, 'data_quality', %(subject)s, %(condition)s, 'medium',
                %(message)s, %(details)s, %(reference)s)
        ON CONFLICT (model_id, kind, subject, condition, granularity, window_start, reference_key) DO UPDATE
           SET message = EXCLUDED.message, details = EXCLUDED.details
           WHERE drift_alerts.details IS DISTINCT FROM EXCLUDED.details
        RETURNING id"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def predictions_out_of_range(self, model_id: int) -> int:
        row = self.conn.execute(self.OUT_OF_RANGE, (model_id,)).fetchone()
        assert row is not None  # count(*) without GROUP BY always returns one row
        count: int = row[0]
        return count

    def record(self, model_id: int, granularity: str, message: str, details: dict[str, Any]) -> int | None:
        """Raise or update the model's stored-data finding; its id when it changed."""
        row = self.conn.execute(
            self.UPSERT,
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
        return row[0] if row else None
