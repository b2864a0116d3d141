"""Tenant database: counts per time window (the read path of the foundation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from seia.segment_rows import Rows
from seia.timeutil import EARLIEST, LATEST


@dataclass(frozen=True)
class WindowCount:
    window_start: datetime
    predictions: int
    labelled: int


class StatsRepository:
    # Windows are UTC hours or days; only windows holding predictions are returned. {order}: DESC for
    # the latest windows (no start), read newest first and returned in time order.
    COUNTS = """
        SELECT date_trunc(%(unit)s, p.ts, 'UTC') AS window_start,
               count(*) AS predictions,
               count(g.prediction_id) AS labelled
        FROM predictions p
        LEFT JOIN ground_truths g ON g.model_id = p.model_id AND g.prediction_id = p.prediction_id
        WHERE p.model_id = %(model)s{seg}
          AND p.ts >= %(earliest)s AND p.ts < %(latest)s -- rows older versions took out of range are not read
          AND (%(from)s::timestamptz IS NULL OR p.ts >= %(from)s)
          AND (%(to)s::timestamptz IS NULL OR p.ts < %(to)s)
        GROUP BY 1 ORDER BY 1 {order}
        LIMIT %(limit)s"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def counts(
        self,
        model_id: int,
        unit: str,
        start: datetime | None,
        end: datetime | None,
        limit: int = 10_000,
        rows: Rows | None = None,
    ) -> list[WindowCount]:
        """Windows holding predictions in [start, end); without ``start``, the latest ``limit`` of them. With
        `rows`, of a segment model (seia.segment_rows): the model's rows of that segment value."""
        latest = start is None
        rows = rows or Rows(model_id)
        with self.conn.cursor(row_factory=class_row(WindowCount)) as cur:
            found = cur.execute(
                rows.sql(self.COUNTS).format(order="DESC" if latest else ""),
                rows.params
                | {
                    "unit": unit,
                    "from": start,
                    "to": end,
                    "limit": limit,
                    "earliest": EARLIEST,
                    "latest": LATEST,
                },
            ).fetchall()
        return found[::-1] if latest else found
