"""Multivariate drift's rows: the reference's fit, hourly error sketches, and the feature values it projects."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from seia_drift.repositories import copytext
from seia_drift.repositories.sources import HOUR_IN_RANGE, Rows, Source

# A numeric value PostgreSQL could not add up (NaN, ±Infinity, beyond ±1e150) is missing, as everywhere.
_NUMBER = "CASE WHEN abs({v}) < 1e150 THEN {v} END"

# Rows of transactions in [lo, hi) and seq in [seq_lo, seq_hi): one chunk of new rows (as the profile step).
_NEW_VALUES = (
    """
    COPY (SELECT (floor(extract(epoch FROM p.ts) / 3600))::int8, {values}
          FROM predictions p
          WHERE p.model_id = %(model)s{seg} AND (p.xid::text)::bigint >= %(lo)s::bigint AND (p.xid::text)::bigint < %(hi)s::bigint
            AND p.seq >= %(seq_lo)s AND p.seq < %(seq_hi)s AND """
    + HOUR_IN_RANGE
    + ") TO STDOUT"
)


class MultivariateRepository:
    FIT = "SELECT reference_key, fit FROM drift_multivariate WHERE model_id = %s"
    SAVE_FIT = """
        INSERT INTO drift_multivariate (model_id, reference_key, fit) VALUES (%s, %s, %s)
        ON CONFLICT (model_id) DO UPDATE
           SET reference_key = EXCLUDED.reference_key, fit = EXCLUDED.fit, built_at = now()"""
    DELETE_HOURLY = "DELETE FROM drift_multivariate_hourly WHERE model_id = %s"
    EXISTING = "SELECT hour, sketch FROM drift_multivariate_hourly WHERE model_id = %s AND hour = ANY(%s)"
    UPSERT = """
        INSERT INTO drift_multivariate_hourly (model_id, hour, rows, sketch) VALUES (%s, %s, %s, %s)
        ON CONFLICT (model_id, hour) DO UPDATE
           SET rows = EXCLUDED.rows, sketch = EXCLUDED.sketch, change = nextval('drift_change_seq')"""
    WINDOWS = """
        SELECT DISTINCT date_trunc(%s, hour, 'UTC') FROM drift_multivariate_hourly
        WHERE model_id = %s AND change > %s ORDER BY 1"""
    MAX_CHANGE = "SELECT coalesce(max(change), 0) FROM drift_multivariate_hourly WHERE model_id = %s"
    WINDOW = """
        SELECT sketch FROM drift_multivariate_hourly
        WHERE model_id = %s AND hour >= %s AND hour < %s ORDER BY hour"""
    SAVE_RESULT = """
        INSERT INTO drift_results (model_id, granularity, window_start, feature, kind, rows, missing_rate, verdict,
                                   severity, signals, driver, effect_ratio, statistics)
        VALUES (%s, %s, %s, %s, 'multivariate', %s, NULL, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, granularity, window_start, feature) DO UPDATE SET
            kind = EXCLUDED.kind, rows = EXCLUDED.rows, missing_rate = EXCLUDED.missing_rate,
            verdict = EXCLUDED.verdict, severity = EXCLUDED.severity, signals = EXCLUDED.signals,
            driver = EXCLUDED.driver, effect_ratio = EXCLUDED.effect_ratio, statistics = EXCLUDED.statistics,
            computed_at = now()"""
    # the alert step reads windows whose drift_windows row changed: this window's results did
    TOUCH_WINDOW = """
        UPDATE drift_windows SET change = nextval('drift_change_seq')
        WHERE model_id = %s AND granularity = %s AND window_start = %s"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    # -- the fit ----------------------------------------------------------------------------------
    def fit(self, model_id: int) -> tuple[str, dict[str, Any] | None] | None:
        """(reference key, fit) as stored, or None before the first fit."""
        row = self.conn.execute(self.FIT, (model_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def replace_fit(self, model_id: int, reference_key: str, fit: dict[str, Any] | None) -> None:
        """Store a new fit; the hourly sketches of the old one mean nothing against it and go."""
        self.conn.execute(self.SAVE_FIT, (model_id, reference_key, Jsonb(fit) if fit is not None else None))
        self.conn.execute(self.DELETE_HOURLY, (model_id,))

    # -- feature values -----------------------------------------------------------------------------
    def reference_values(
        self, source: Source, numeric: Sequence[int], categorical: Sequence[int]
    ) -> tuple[list[int], Any, list[list[str | None]]]:
        """The reference's feature values at the given positions of num[] and cat[] (categorical ones coded)."""
        query = (
            sql.SQL("COPY (")
            + source.cte()
            + sql.SQL("SELECT 0::int8, {} FROM src) TO STDOUT").format(self._columns("src", numeric, categorical))
        )
        return self._read(query, source.params, len(numeric), len(categorical), coded=True)

    def new_values(
        self, numeric: Sequence[int], categorical: Sequence[int], params: Mapping[str, Any], rows: Rows
    ) -> tuple[list[int], Any, list[Any]]:
        """(epoch hour per row, numeric values (rows × positions, NaN missing), categorical columns coded
        (:class:`seia_drift.multivariate.Coded`)) of one chunk of new prediction rows (``params``:
        :meth:`SketchRepository.chunks`, of `rows`)."""
        query = sql.SQL(rows.sql(_NEW_VALUES)).format(values=self._columns("p", numeric, categorical))
        return self._read(query, params, len(numeric), len(categorical), coded=True)

    @staticmethod
    def _columns(alias: str, numeric: Sequence[int], categorical: Sequence[int]) -> sql.Composable:
        # positions are the model's own integers, never input
        parts = [sql.SQL(_NUMBER.format(v=f"{alias}.num[{int(p)}]")) for p in numeric]
        parts += [sql.SQL(f"{alias}.cat[{int(p)}]") for p in categorical]
        return sql.SQL(", ").join(parts)

    def _read(
        self, query: sql.Composed, params: Mapping[str, Any], n_num: int, n_cat: int, coded: bool = False
    ) -> tuple[list[int], Any, list[Any]]:
        import numpy as np

        buf = io.BytesIO()
        with self.conn.cursor() as cur, cur.copy(query, params) as copy:
            for block in copy:
                buf.write(block)
        if not buf.tell():
            return [], np.zeros((0, n_num)), [[] for _ in range(n_cat)]
        buf.seek(0)
        dtypes: dict[int, Any] = {0: "int64"} | {1 + j: "float64" for j in range(n_num)}
        dtypes |= {1 + n_num + j: str for j in range(n_cat)}
        frame = copytext.read(buf, dtypes)
        numeric = frame.iloc[:, 1 : 1 + n_num].to_numpy(dtype=np.float64).reshape(len(frame), n_num)
        categorical: list[Any] = []
        for j in range(n_cat):
            column = frame.iloc[:, 1 + n_num + j]
            codes, names = copytext.factorize(column)
            if coded:
                from seia_drift.multivariate import Coded

                categorical.append(Coded(codes, names))
            else:
                categorical.append([names[c] if c >= 0 else None for c in codes])
        return frame.iloc[:, 0].tolist(), numeric, categorical

    # -- hourly sketches ----------------------------------------------------------------------------
    def existing(self, model_id: int, hours: list[datetime]) -> dict[datetime, dict[str, Any]]:
        return dict(self.conn.execute(self.EXISTING, (model_id, hours)).fetchall())

    def upsert(self, model_id: int, items: list[tuple[datetime, dict[str, Any]]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(self.UPSERT, [(model_id, h, int(s["n"]), Jsonb(s)) for h, s in items])

    def changed_windows(self, model_id: int, granularity: str, change: int) -> tuple[list[datetime], int]:
        windows = [r[0] for r in self.conn.execute(self.WINDOWS, (granularity, model_id, change))]
        row = self.conn.execute(self.MAX_CHANGE, (model_id,)).fetchone()
        assert row is not None  # an aggregate without GROUP BY returns exactly one row
        return windows, max(change, row[0])

    def window(self, model_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [r[0] for r in self.conn.execute(self.WINDOW, (model_id, start, end))]

    def save_result(
        self,
        model_id: int,
        granularity: str,
        start: datetime,
        feature: str,
        rows: int,
        verdict: str,
        severity: str | None,
        effect_ratio: float | None,
        statistics: dict[str, Any],
    ) -> None:
        signals = ["reconstruction_error"] if verdict == "drift" else []
        self.conn.execute(
            self.SAVE_RESULT,
            (
                model_id,
                granularity,
                start,
                feature,
                rows,
                verdict,
                severity,
                signals,
                "reconstruction_error",
                effect_ratio,
                Jsonb(statistics),
            ),
        )
        self.conn.execute(self.TOUCH_WINDOW, (model_id, granularity, start))


def epoch_hour(value: int) -> datetime:
    return datetime.fromtimestamp(int(value) * 3600, tz=UTC)
