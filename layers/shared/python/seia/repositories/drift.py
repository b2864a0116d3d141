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
    # each already in the API's DriftWindow shape. PostgreSQL builds the JSON: parsing thousands of
    # statistics documents into Python and serialising them again would cost more than the query.
    STORED_WINDOWS_JSON = """
        WITH win AS (
            SELECT window_start, window_end, rows, computed_at FROM drift_windows
            WHERE model_id = %(model)s AND granularity = %(g)s AND status <> 'pending'
              AND window_start >= %(from)s AND window_start < %(to)s AND window_start > %(after)s
            ORDER BY window_start LIMIT %(limit)s),
        col AS (
            SELECT r.window_start, r.feature,
                   CASE r.feature WHEN '__prediction__' THEN 'prediction' WHEN '__score__' THEN 'score'
                                  WHEN '__label__' THEN 'label' WHEN '__multivariate__' THEN 'multivariate'
                                  ELSE 'features' END AS slot,
                   json_build_object(
                       'name', CASE r.feature WHEN '__prediction__' THEN 'prediction' WHEN '__score__' THEN 'score'
                                              WHEN '__label__' THEN 'label' WHEN '__multivariate__' THEN 'multivariate'
                                              ELSE r.feature END,
                       'kind', CASE WHEN f.source = 'label' OR r.feature = '__label__' THEN 'label'
                                    WHEN r.feature = '__multivariate__' THEN 'multivariate'
                                    WHEN f.source IN ('prediction', 'score') THEN 'prediction' ELSE 'feature' END,
                       'type', r.kind, 'rows', r.rows,
                       'rows_reference', coalesce((r.statistics->>'rows_ref')::bigint, 0),
                       'verdict', r.verdict, 'severity', r.severity, 'signals', to_json(r.signals),
                       'driver', r.driver, 'effect_ratio', r.effect_ratio,
                       'statistics', r.statistics - 'top_increase' - 'new_categories' - 'contributions') AS body
            FROM drift_results r JOIN win ON win.window_start = r.window_start
            LEFT JOIN drift_features f ON f.model_id = r.model_id AND f.feature = r.feature
            WHERE r.model_id = %(model)s AND r.granularity = %(g)s),
        agg AS (
            SELECT window_start,
                   coalesce(json_agg(body ORDER BY feature) FILTER (WHERE slot = 'features'), '[]') AS features,
                   (array_agg(body) FILTER (WHERE slot = 'prediction'))[1] AS prediction,
                   (array_agg(body) FILTER (WHERE slot = 'score'))[1] AS score,
                   (array_agg(body) FILTER (WHERE slot = 'label'))[1] AS label,
                   (array_agg(body) FILTER (WHERE slot = 'multivariate'))[1] AS multivariate
            FROM col GROUP BY window_start)
        SELECT win.window_start, json_build_object(
            'window_start', to_char(win.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
            'window_end', to_char(win.window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
            'rows', win.rows, 'features', coalesce(agg.features, '[]'), 'prediction', agg.prediction,
            'score', agg.score, 'label', agg.label, 'multivariate', agg.multivariate,
            'computed_at', to_char(win.computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))::text
        FROM win LEFT JOIN agg ON agg.window_start = win.window_start ORDER BY win.window_start"""
    SKETCH_WINDOWS = """
        SELECT DISTINCT date_trunc(%(g)s, hour, 'UTC') AS w FROM drift_sketches
        WHERE model_id = %(model)s AND hour >= %(from)s AND hour < %(to)s
          AND date_trunc(%(g)s, hour, 'UTC') > %(after)s
        ORDER BY w LIMIT %(limit)s"""
    SKETCHES = """
        SELECT hour, feature, sketch FROM drift_sketches
        WHERE model_id = %s AND hour >= %s AND hour < %s AND (%s::text IS NULL OR feature = %s)
        ORDER BY hour, feature"""
    SKETCH_EXTENT = "SELECT min(hour), max(hour) FROM drift_sketches WHERE model_id = %s"
    STORED_PERFORMANCE = """
        SELECT w.window_start, w.window_end,
               coalesce((SELECT sum(h.rows) FROM drift_performance_hourly h
                         WHERE h.model_id = w.model_id AND h.hour >= w.window_start AND h.hour < w.window_end),
                        0)::bigint AS predictions,
               w.labeled, w.coverage, w.provisional, w.metrics
        FROM drift_windows w
        WHERE w.model_id = %(model)s AND w.granularity = %(g)s AND w.metrics IS NOT NULL
          AND w.window_start >= %(from)s AND w.window_start < %(to)s AND w.window_start > %(after)s
        ORDER BY w.window_start LIMIT %(limit)s"""
    PERFORMANCE_WINDOWS = """
        SELECT DISTINCT date_trunc(%(g)s, hour, 'UTC') AS w FROM drift_performance_hourly
        WHERE model_id = %(model)s AND hour >= %(from)s AND hour < %(to)s
          AND date_trunc(%(g)s, hour, 'UTC') > %(after)s
        ORDER BY w LIMIT %(limit)s"""
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

    def stored_windows_json(
        self, model_id: int, granularity: str, start, end, after, limit: int
    ) -> list[tuple[datetime, str]]:
        """(window_start, the window as DriftWindow JSON text) of the stored windows, in time order."""
        return self.conn.execute(
            self.STORED_WINDOWS_JSON,
            {"model": model_id, "g": granularity, "from": start, "to": end, "after": after, "limit": limit},
        ).fetchall()

    def sketch_windows(self, model_id: int, granularity: str, start, end, after, limit: int) -> list[datetime]:
        rows = self.conn.execute(
            self.SKETCH_WINDOWS,
            {"model": model_id, "g": granularity, "from": start, "to": end, "after": after, "limit": limit},
        ).fetchall()
        return [r[0] for r in rows]

    def sketches(self, model_id: int, start, end, feature: str | None = None):
        """(hour, feature, sketch in its ``to_dict`` form) of [start, end), in time order."""
        rows = self.conn.execute(self.SKETCHES, (model_id, start, end, feature, feature))
        return [(hour, name, unpack_sketch(sketch)) for hour, name, sketch in rows]

    def sketch_extent(self, model_id: int) -> tuple[datetime | None, datetime | None]:
        found = self.conn.execute(self.SKETCH_EXTENT, (model_id,)).fetchone()
        assert found is not None  # min()/max() always return one row
        return found[0], found[1]

    def stored_performance(
        self, model_id: int, granularity: str, start, end, after, limit: int
    ) -> list[PerformanceRow]:
        with self.conn.cursor(row_factory=class_row(PerformanceRow)) as cur:
            return cur.execute(
                self.STORED_PERFORMANCE,
                {"model": model_id, "g": granularity, "from": start, "to": end, "after": after, "limit": limit},
            ).fetchall()

    def performance_windows(self, model_id: int, granularity: str, start, end, after, limit: int) -> list[datetime]:
        rows = self.conn.execute(
            self.PERFORMANCE_WINDOWS,
            {"model": model_id, "g": granularity, "from": start, "to": end, "after": after, "limit": limit},
        ).fetchall()
        return [r[0] for r in rows]

    def performance_hours(self, model_id: int, start, end):
        """(hour, rows, labeled, statistics in their dense form) of [start, end), in time order."""
        rows = self.conn.execute(self.PERFORMANCE_HOURS, (model_id, start, end))
        return [(hour, n, labeled, unpack_performance(stats)) for hour, n, labeled, stats in rows]

    def performance_extent(self, model_id: int) -> tuple[datetime | None, datetime | None]:
        found = self.conn.execute(self.PERFORMANCE_EXTENT, (model_id,)).fetchone()
        assert found is not None  # min()/max() always return one row
        return found[0], found[1]
