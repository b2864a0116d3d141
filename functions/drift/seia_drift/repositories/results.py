"""Drift results per window and feature, and the per-window summary (drift and performance)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from seia.rollups import pack_counts
from seia.sparse import pack_performance
from seia.stats import NumericSketch


@dataclass(frozen=True)
class FeatureResult:
    feature: str
    kind: str
    rows: int
    missing_rate: float | None
    verdict: str
    severity: str | None
    signals: list[str]
    driver: str | None
    effect_ratio: float | None
    statistics: dict[str, Any]


@dataclass(frozen=True)
class WindowRow:
    granularity: str
    window_start: datetime
    window_end: datetime
    rows: int
    status: str
    drifted_features: int
    labeled: int
    coverage: float | None
    provisional: bool
    metrics: dict[str, Any] | None


class ResultRepository:
    UPSERT_RESULT = """
        INSERT INTO drift_results (model_id, granularity, window_start, feature, kind, rows, missing_rate, verdict,
                                   severity, signals, driver, effect_ratio, statistics)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, granularity, window_start, feature) DO UPDATE SET
            kind = EXCLUDED.kind, rows = EXCLUDED.rows, missing_rate = EXCLUDED.missing_rate,
            verdict = EXCLUDED.verdict, severity = EXCLUDED.severity, signals = EXCLUDED.signals,
            driver = EXCLUDED.driver, effect_ratio = EXCLUDED.effect_ratio, statistics = EXCLUDED.statistics,
            computed_at = now()"""
    UPSERT_DRIFT_SUMMARY = """
        INSERT INTO drift_windows (model_id, granularity, window_start, window_end, rows, status, drifted_features)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, granularity, window_start) DO UPDATE SET
            rows = EXCLUDED.rows, status = EXCLUDED.status, drifted_features = EXCLUDED.drifted_features,
            change = nextval('drift_change_seq'), computed_at = now()"""
    UPSERT_PERFORMANCE = """
        INSERT INTO drift_windows (model_id, granularity, window_start, window_end, labeled, coverage,
                                   provisional, metrics, predictions)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, granularity, window_start) DO UPDATE SET
            labeled = EXCLUDED.labeled, coverage = EXCLUDED.coverage, provisional = EXCLUDED.provisional,
            metrics = EXCLUDED.metrics, predictions = EXCLUDED.predictions, change = nextval('drift_change_seq'),
            computed_at = now()"""
    # The stored windows' documents, in the query API's DriftWindow shape (tenant migration 0011 wrote
    # those of the windows stored before it with the same SQL): a read returns them as they are.
    RENDER_DOCUMENTS = """
        UPDATE drift_windows w SET document = json_build_object(
            'window_start', to_char(w.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
            'window_end', to_char(w.window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
            'rows', w.rows, 'features', agg.features, 'prediction', agg.prediction,
            'score', agg.score, 'label', agg.label, 'multivariate', agg.multivariate,
            'computed_at', to_char(w.computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
        FROM unnest(%(starts)s::timestamptz[]) AS s(window_start)
        CROSS JOIN LATERAL (
            SELECT coalesce(json_agg(body ORDER BY feature) FILTER (WHERE slot = 'features'), '[]') AS features,
                   (array_agg(body) FILTER (WHERE slot = 'prediction'))[1] AS prediction,
                   (array_agg(body) FILTER (WHERE slot = 'score'))[1] AS score,
                   (array_agg(body) FILTER (WHERE slot = 'label'))[1] AS label,
                   (array_agg(body) FILTER (WHERE slot = 'multivariate'))[1] AS multivariate
            FROM (
                SELECT r.feature,
                       CASE r.feature WHEN '__prediction__' THEN 'prediction' WHEN '__score__' THEN 'score'
                                      WHEN '__label__' THEN 'label' WHEN '__multivariate__' THEN 'multivariate'
                                      ELSE 'features' END AS slot,
                       json_build_object(
                           'name', CASE r.feature WHEN '__prediction__' THEN 'prediction'
                                                  WHEN '__score__' THEN 'score'
                                                  WHEN '__label__' THEN 'label'
                                                  WHEN '__multivariate__' THEN 'multivariate' ELSE r.feature END,
                           'kind', CASE WHEN f.source = 'label' OR r.feature = '__label__' THEN 'label'
                                        WHEN r.feature = '__multivariate__' THEN 'multivariate'
                                        WHEN f.source IN ('prediction', 'score') THEN 'prediction'
                                        ELSE 'feature' END,
                           'type', r.kind, 'rows', r.rows,
                           'rows_reference', coalesce((r.statistics->>'rows_ref')::bigint, 0),
                           'verdict', r.verdict, 'severity', r.severity, 'signals', to_json(r.signals),
                           'driver', r.driver, 'effect_ratio', r.effect_ratio,
                           'statistics', r.statistics - 'top_increase' - 'new_categories' - 'contributions') AS body
                FROM drift_results r
                LEFT JOIN drift_features f ON f.model_id = r.model_id AND f.feature = r.feature
                WHERE r.model_id = %(model)s AND r.granularity = %(g)s AND r.window_start = s.window_start
            ) col
        ) agg
        WHERE w.model_id = %(model)s AND w.granularity = %(g)s AND w.window_start = s.window_start"""
    # A feature's result of a window it no longer has sketches in (its hour's rows were removed) goes.
    DELETE_RESULTS = """
        DELETE FROM drift_results WHERE model_id = %s AND granularity = %s AND window_start = %s
          AND feature <> ALL(%s) AND feature <> ALL(%s)"""
    UPSERT_ROLLUP = """
        INSERT INTO drift_rollups (model_id, day, feature, kind, rows, missing, n, mean, m2, lo, hi, counts,
                                   categories)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, day, feature) DO UPDATE SET
            kind = EXCLUDED.kind, rows = EXCLUDED.rows, missing = EXCLUDED.missing, n = EXCLUDED.n,
            mean = EXCLUDED.mean, m2 = EXCLUDED.m2, lo = EXCLUDED.lo, hi = EXCLUDED.hi, counts = EXCLUDED.counts,
            categories = EXCLUDED.categories"""
    DELETE_ROLLUPS = "DELETE FROM drift_rollups WHERE model_id = %s AND day = %s AND feature <> ALL(%s)"
    UPSERT_PERFORMANCE_DAY = """
        INSERT INTO drift_performance_daily (model_id, day, rows, labeled, stats) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (model_id, day) DO UPDATE SET
            rows = EXCLUDED.rows, labeled = EXCLUDED.labeled, stats = EXCLUDED.stats"""
    RESULTS = """
        SELECT feature, kind, rows, missing_rate, verdict, severity, signals, driver, effect_ratio, statistics
        FROM drift_results WHERE model_id = %s AND granularity = %s AND window_start = %s ORDER BY feature"""
    CHANGED_WINDOWS = """
        SELECT granularity, window_start, window_end, rows, status, drifted_features, labeled, coverage,
               provisional, metrics
        FROM drift_windows WHERE model_id = %s AND change > %s ORDER BY window_start"""
    MAX_CHANGE = "SELECT coalesce(max(change), 0) FROM drift_windows WHERE model_id = %s"
    # A segment model's windows whose parent's window changed (drift_change_seq is one sequence for every model).
    CHANGED_UNDER_PARENT = """
        SELECT s.granularity, s.window_start, s.window_end, s.rows, s.status, s.drifted_features, s.labeled,
               s.coverage, s.provisional, s.metrics
        FROM drift_windows s
        JOIN drift_windows p ON p.model_id = %s AND p.granularity = s.granularity AND p.window_start = s.window_start
        WHERE s.model_id = %s AND p.change > %s ORDER BY s.window_start"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def save_window(
        self,
        model_id: int,
        granularity: str,
        start: datetime,
        end: datetime,
        rows: int,
        status: str,
        results: list[FeatureResult],
        keep: list[str] | None = None,
    ) -> None:
        """Save the window's results; any other result of it goes (its hours lost their rows), except those of
        ``keep`` (a removed feature's history, the multivariate step's own column)."""
        with self.conn.cursor() as cur:
            cur.executemany(
                self.UPSERT_RESULT,
                [
                    (
                        model_id,
                        granularity,
                        start,
                        r.feature,
                        r.kind,
                        r.rows,
                        r.missing_rate,
                        r.verdict,
                        r.severity,
                        r.signals,
                        r.driver,
                        r.effect_ratio,
                        Jsonb(r.statistics),
                    )
                    for r in results
                ],
            )
        kept = ["__multivariate__", *(keep or [])]
        self.conn.execute(self.DELETE_RESULTS, (model_id, granularity, start, [r.feature for r in results], kept))
        drifted = sum(r.verdict == "drift" for r in results)
        self.conn.execute(self.UPSERT_DRIFT_SUMMARY, (model_id, granularity, start, end, rows, status, drifted))

    def save_performance(
        self,
        model_id: int,
        granularity: str,
        start: datetime,
        end: datetime,
        labeled: int,
        coverage: float | None,
        provisional: bool,
        metrics: dict[str, Any],
        predictions: int = 0,
    ) -> None:
        self.conn.execute(
            self.UPSERT_PERFORMANCE,
            (model_id, granularity, start, end, labeled, coverage, provisional, Jsonb(metrics), predictions),
        )

    def render_documents(self, model_id: int, granularity: str, starts: list[datetime]) -> None:
        """Write the DriftWindow documents of these windows from their saved results (after :meth:`save_window`)."""
        if starts:
            self.conn.execute(self.RENDER_DOCUMENTS, {"model": model_id, "g": granularity, "starts": starts})

    def save_rollups(self, model_id: int, day: datetime, merged: dict[str, Any]) -> None:
        """A day's merged sketch per feature (NumericSketch or CategoricalSketch), replacing the day's."""
        rows: list[tuple[Any, ...]] = []
        for feature, s in sorted(merged.items()):
            if isinstance(s, NumericSketch):
                rows.append(
                    (model_id, day, feature, "numeric", s.rows, s.missing, s.n, s.mean, s.m2, s.min, s.max,
                     pack_counts(s.counts), None)
                )  # fmt: skip
            else:
                rows.append(
                    (model_id, day, feature, "categorical", s.rows, s.missing, s.n, None, None, None, None, None,
                     Jsonb(dict(s.counts)))
                )  # fmt: skip
        with self.conn.cursor() as cur:
            cur.executemany(self.UPSERT_ROLLUP, rows)
        self.conn.execute(self.DELETE_ROLLUPS, (model_id, day, sorted(merged)))

    def save_performance_day(
        self, model_id: int, day: datetime, rows: int, labeled: int, stats: dict[str, Any] | None
    ) -> None:
        """A day's merged performance statistics (stored packed, as the hourly ones)."""
        packed = Jsonb(pack_performance(stats)) if stats else None
        self.conn.execute(self.UPSERT_PERFORMANCE_DAY, (model_id, day, rows, labeled, packed))

    def results(self, model_id: int, granularity: str, start: datetime) -> list[FeatureResult]:
        with self.conn.cursor(row_factory=class_row(FeatureResult)) as cur:
            return cur.execute(self.RESULTS, (model_id, granularity, start)).fetchall()

    def changed_windows(self, model_id: int, change: int, parent_id: int | None = None) -> tuple[list[WindowRow], int]:
        """Windows changed since `change`, and the change number they were read up to. Of a segment model
        (`parent_id`), also its windows whose parent's window changed: what the parent flags there decides
        what the segment raises."""
        with self.conn.cursor(row_factory=class_row(WindowRow)) as cur:
            windows = cur.execute(self.CHANGED_WINDOWS, (model_id, change)).fetchall()
            if parent_id is not None:
                seen = {(w.granularity, w.window_start) for w in windows}
                more = cur.execute(self.CHANGED_UNDER_PARENT, (parent_id, model_id, change)).fetchall()
                windows = sorted(
                    windows + [w for w in more if (w.granularity, w.window_start) not in seen],
                    key=lambda w: w.window_start,
                )
        found = self.conn.execute(self.MAX_CHANGE, (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        last: int = found[0]
        if parent_id is not None:
            parent = self.conn.execute(self.MAX_CHANGE, (parent_id,)).fetchone()
            assert parent is not None
            last = max(last, parent[0])
        return windows, last
