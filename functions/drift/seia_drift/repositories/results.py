"""Drift results per window and feature, and the per-window summary (drift and performance)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


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
                                   provisional, metrics)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, granularity, window_start) DO UPDATE SET
            labeled = EXCLUDED.labeled, coverage = EXCLUDED.coverage, provisional = EXCLUDED.provisional,
            metrics = EXCLUDED.metrics, change = nextval('drift_change_seq'), computed_at = now()"""
    RESULTS = """
        SELECT feature, kind, rows, missing_rate, verdict, severity, signals, driver, effect_ratio, statistics
        FROM drift_results WHERE model_id = %s AND granularity = %s AND window_start = %s ORDER BY feature"""
    CHANGED_WINDOWS = """
        SELECT granularity, window_start, window_end, rows, status, drifted_features, labeled, coverage,
               provisional, metrics
        FROM drift_windows WHERE model_id = %s AND change > %s ORDER BY window_start"""
    MAX_CHANGE = "SELECT coalesce(max(change), 0) FROM drift_windows WHERE model_id = %s"

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
    ) -> None:
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
    ) -> None:
        self.conn.execute(
            self.UPSERT_PERFORMANCE, (model_id, granularity, start, end, labeled, coverage, provisional, Jsonb(metrics))
        )

    def results(self, model_id: int, granularity: str, start: datetime) -> list[FeatureResult]:
        with self.conn.cursor(row_factory=class_row(FeatureResult)) as cur:
            return cur.execute(self.RESULTS, (model_id, granularity, start)).fetchall()

    def changed_windows(self, model_id: int, change: int) -> tuple[list[WindowRow], int]:
        with self.conn.cursor(row_factory=class_row(WindowRow)) as cur:
            windows = cur.execute(self.CHANGED_WINDOWS, (model_id, change)).fetchall()
        found = self.conn.execute(self.MAX_CHANGE, (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        return windows, found[0]
