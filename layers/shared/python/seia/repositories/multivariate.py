"""The query path's read of multivariate drift: the reference's fit and the hourly error sketches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg


class MultivariateReadRepository:
    # the fit of the model's current reference only (a fit left from an older one judges nothing)
    FIT = """
        SELECT m.fit FROM drift_multivariate m JOIN drift_references r USING (model_id)
        WHERE m.model_id = %s AND m.reference_key = r.reference_key"""
    HOURS = """
        SELECT hour, sketch FROM drift_multivariate_hourly
        WHERE model_id = %s AND hour >= %s AND hour < %s ORDER BY hour"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def fit(self, model_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(self.FIT, (model_id,)).fetchone()
        return row[0] if row else None

    def hours(self, model_id: int, start: datetime, end: datetime) -> list[tuple[datetime, dict[str, Any]]]:
        """(hour, sketch) of [start, end), in time order."""
        return self.conn.execute(self.HOURS, (model_id, start, end)).fetchall()
