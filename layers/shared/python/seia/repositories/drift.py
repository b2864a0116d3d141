"""Tenant database, read side of the drift engine's tables (0002_drift.sql) for the query API.

The rows are the engine's (:mod:`seia.repositories.reference`; incidents: :mod:`seia.repositories.incidents`);
the SQL here is the query API's own.

Only derived rows are read here: stored results, hourly sketches and hourly performance
statistics, never the raw predictions, so a request costs the same whatever the traffic behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from seia.repositories.reference import FeatureBins, StoredReference
from seia.sparse import unpack_performance, unpack_sketch


@dataclass(frozen=True)
class Page:
    """Which page of windows a list route reads: ``latest`` — the newest ``limit`` windows before
    ``before`` (newest first, as read); otherwise the oldest ``limit`` after ``after``."""

    limit: int
    latest: bool
    after: datetime | None = None
    before: datetime | None = None

    @property
    def predicate(self) -> str:
        if self.latest:
            return "window_start < %(before)s ORDER BY window_start DESC"
        return "window_start > %(after)s ORDER BY window_start"

    @property
    def params(self) -> dict:
        return {"before": self.before, "after": self.after}


@dataclass(frozen=True)
class PerformanceRow:
    window_start: datetime
    window_end: datetime
    predictions: int
    labeled: int
    coverage: float | None
    provisional: bool
    metrics: dict | None


class DriftReadRepository:
    FEATURES = """
        SELECT feature, kind, source, position, edges, segments, reference
        FROM drift_features WHERE model_id = %s ORDER BY feature"""
    REFERENCE = """
        SELECT reference_key, source, window_start, window_end, rows, labeled, performance, metrics
        FROM drift_references WHERE model_id = %s"""
    HAS_STORED = "SELECT EXISTS (SELECT 1 FROM drift_windows WHERE model_id = %s AND granularity = %s)"
    # Stored windows (those the drift step judged: the performance step alone leaves them 'pending'),
    # each as the DriftWindow document the engine wrote: the read moves text, it builds nothing.
    # ``{page}``: the forward page (after the cursor, oldest first) or the latest one (before it, newest first).
    STORED_WINDOWS_JSON = """
        SELECT window_start, document::text FROM drift_windows
        WHERE model_id = %(model)s AND granularity = %(g)s AND status <> 'pending' AND document IS NOT NULL
          AND window_start >= %(from)s AND window_start < %(to)s AND {page}
        LIMIT %(limit)s"""
    SKETCH_WINDOWS = """
        SELECT window_start FROM (
            SELECT DISTINCT date_trunc(%(g)s, hour, 'UTC') AS window_start FROM drift_sketches
            WHERE model_id = %(model)s AND hour >= %(from)s AND hour < %(to)s) w
        WHERE {page}
        LIMIT %(limit)s"""
    SKETCHES = """
        SELECT hour, feature, sketch FROM drift_sketches
        WHERE model_id = %s AND hour >= %s AND hour < %s AND (%s::text IS NULL OR feature = %s)
        ORDER BY hour, feature"""
    SKETCH_EXTENT = "SELECT min(hour), max(hour) FROM drift_sketches WHERE model_id = %s"
    STORED_PERFORMANCE = """
        SELECT window_start, window_end, coalesce(predictions, 0) AS predictions, labeled, coverage, provisional,
               metrics
        FROM drift_windows
        WHERE model_id = %(model)s AND granularity = %(g)s AND metrics IS NOT NULL
          AND window_start >= %(from)s AND window_start < %(to)s AND {page}
        LIMIT %(limit)s"""
    PERFORMANCE_WINDOWS = """
        SELECT window_start FROM (
            SELECT DISTINCT date_trunc(%(g)s, hour, 'UTC') AS window_start FROM drift_performance_hourly
            WHERE model_id = %(model)s AND hour >= %(from)s AND hour < %(to)s) w
        WHERE {page}
        LIMIT %(limit)s"""
    HAS_ROLLUPS = "SELECT EXISTS (SELECT 1 FROM drift_rollups WHERE model_id = %s)"
    ROLLUPS = """
        SELECT day, feature, kind, missing, n, mean, m2, lo, hi, counts, categories FROM drift_rollups
        WHERE model_id = %s AND day >= %s AND day < %s AND (%s::text IS NULL OR feature = %s)
        ORDER BY day, feature"""
    HAS_PERFORMANCE_DAYS = "SELECT EXISTS (SELECT 1 FROM drift_performance_daily WHERE model_id = %s)"
    PERFORMANCE_DAYS = """
        SELECT day, rows, labeled, stats FROM drift_performance_daily
        WHERE model_id = %s AND day >= %s AND day < %s ORDER BY day"""
    PERFORMANCE_HOURS = """
        SELECT hour, rows, labeled, stats FROM drift_performance_hourly
        WHERE model_id = %s AND hour >= %s AND hour < %s ORDER BY hour"""
    PERFORMANCE_EXTENT = "SELECT min(hour), max(hour) FROM drift_performance_hourly WHERE model_id = %s"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def features(self, model_id: int) -> dict[str, FeatureBins]:
        with self.conn.cursor(row_factory=class_row(FeatureBins)) as cur:
            return {f.feature: f for f in cur.execute(self.FEATURES, (model_id,)).fetchall()}

    def reference(self, model_id: int) -> StoredReference | None:
        with self.conn.cursor(row_factory=class_row(StoredReference)) as cur:
            return cur.execute(self.REFERENCE, (model_id,)).fetchone()

    def has_stored(self, model_id: int, granularity: str) -> bool:
        found = self.conn.execute(self.HAS_STORED, (model_id, granularity)).fetchone()
        assert found is not None  # the query always returns one row
        return found[0]

    def _page(self, query: str, model_id: int, granularity: str, start, end, page: Page) -> list:
        sql = query.format(page=page.predicate)
        params = {"model": model_id, "g": granularity, "from": start, "to": end, "limit": page.limit + 1}
        return self.conn.execute(sql, params | page.params).fetchall()

    def stored_windows_json(
        self, model_id: int, granularity: str, start, end, page: Page
    ) -> list[tuple[datetime, str]]:
        """(window_start, the window as DriftWindow JSON text) of a page of stored windows (one more than
        ``page.limit`` when there is more), in the page's order."""
        return self._page(self.STORED_WINDOWS_JSON, model_id, granularity, start, end, page)

    def sketch_windows(self, model_id: int, granularity: str, start, end, page: Page) -> list[datetime]:
        """Windows with hourly sketches, as :meth:`stored_windows_json` pages them."""
        return [r[0] for r in self._page(self.SKETCH_WINDOWS, model_id, granularity, start, end, page)]

    def sketches(self, model_id: int, start, end, feature: str | None = None):
        """(hour, feature, sketch in its ``to_dict`` form) of [start, end), in time order."""
        rows = self.conn.execute(self.SKETCHES, (model_id, start, end, feature, feature))
        return [(hour, name, unpack_sketch(sketch)) for hour, name, sketch in rows]

    def stored_sketches(self, model_id: int, start, end, feature: str | None = None):
        """As :meth:`sketches`, each sketch in its stored form (numeric ones packed: :mod:`seia.sparse`)."""
        return self.conn.execute(self.SKETCHES, (model_id, start, end, feature, feature)).fetchall()

    def sketch_extent(self, model_id: int) -> tuple[datetime | None, datetime | None]:
        found = self.conn.execute(self.SKETCH_EXTENT, (model_id,)).fetchone()
        assert found is not None  # min()/max() always return one row
        return found[0], found[1]

    def stored_performance(self, model_id: int, granularity: str, start, end, page: Page) -> list[PerformanceRow]:
        with self.conn.cursor(row_factory=class_row(PerformanceRow)) as cur:
            sql = self.STORED_PERFORMANCE.format(page=page.predicate)
            params = {"model": model_id, "g": granularity, "from": start, "to": end, "limit": page.limit + 1}
            return cur.execute(sql, params | page.params).fetchall()

    def performance_windows(self, model_id: int, granularity: str, start, end, page: Page) -> list[datetime]:
        return [r[0] for r in self._page(self.PERFORMANCE_WINDOWS, model_id, granularity, start, end, page)]

    def has_rollups(self, model_id: int) -> bool:
        found = self.conn.execute(self.HAS_ROLLUPS, (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        return found[0]

    def rollups(self, model_id: int, start, end, feature: str | None = None) -> list[tuple]:
        """(day, feature, kind, missing, n, mean, m2, lo, hi, counts, categories) of the days in [start, end)."""
        # binary: a year of numeric counts is megabytes of bytea, which the text format would send as hex
        with self.conn.cursor(binary=True) as cur:
            return cur.execute(self.ROLLUPS, (model_id, start, end, feature, feature)).fetchall()

    def has_performance_days(self, model_id: int) -> bool:
        found = self.conn.execute(self.HAS_PERFORMANCE_DAYS, (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        return found[0]

    def performance_days(self, model_id: int, start, end):
        """(day, rows, labeled, statistics in their dense form) of the days in [start, end), in time order."""
        rows = self.conn.execute(self.PERFORMANCE_DAYS, (model_id, start, end))
        return [(day, n, labeled, unpack_performance(stats)) for day, n, labeled, stats in rows]

    def performance_hours(self, model_id: int, start, end):
        """(hour, rows, labeled, statistics in their dense form) of [start, end), in time order."""
        rows = self.conn.execute(self.PERFORMANCE_HOURS, (model_id, start, end))
        return [(hour, n, labeled, unpack_performance(stats)) for hour, n, labeled, stats in rows]

    def performance_extent(self, model_id: int) -> tuple[datetime | None, datetime | None]:
        found = self.conn.execute(self.PERFORMANCE_EXTENT, (model_id,)).fetchone()
        assert found is not None  # min()/max() always return one row
        return found[0], found[1]
