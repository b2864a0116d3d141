"""Hourly sketches: counted inside PostgreSQL (only counts travel), merged and stored per hour."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from seia_drift.layout import Layout
from seia_drift.repositories.sources import Source

# PostgreSQL raises on float8 overflow and underflow, where numpy would give inf or 0: values this
# large count as missing (as non-finite ones do), squares this small as 0.
MAX_ABS = "1e150"
TINY = "1e-150"


def _present(expr: str) -> str:
    return f"CASE WHEN abs({expr}) < {MAX_ABS} THEN {expr} END"  # NULL for NULL, NaN and huge values


def _square(expr: str) -> str:
    return f"CASE WHEN abs({expr}) < {TINY} OR NOT abs({expr}) < {MAX_ABS} THEN 0 ELSE {expr} * {expr} END"


# Rows of transactions in [lo, hi) and seq in [seq_lo, seq_hi]: one chunk of new rows.
_NEW_ROWS = """
    WHERE p.model_id = %(model)s AND p.xid >= %(lo)s::text::xid8 AND p.xid < %(hi)s::text::xid8
      AND p.seq >= %(seq_lo)s AND p.seq < %(seq_hi)s"""

# Per hour and slot, the sparse bucket counts (width_bucket on the slot's reference edges) and the
# missing count (NULL, NaN, beyond ±1e150). Each row yields one key per slot,
# ``position * KEY_STRIDE + bucket`` (bucket -1: missing), so one hash aggregation counts every slot.
KEY_STRIDE = 4096  # more than the buckets of any edges fit_edges makes (at most 2 × 512 + 1)
NUMERIC_COUNTS = ("""
    SELECT hour, (k + 1) / {stride} AS i,
           array_agg(k - (k + 1) / {stride} * {stride} ORDER BY k) FILTER (WHERE (k + 1) %% {stride} <> 0),
           array_agg(n ORDER BY k) FILTER (WHERE (k + 1) %% {stride} <> 0),
           coalesce(sum(n) FILTER (WHERE (k + 1) %% {stride} = 0), 0)
    FROM (
        SELECT date_trunc('hour', p.ts, 'UTC') AS hour, k, count(*) AS n
        FROM predictions p, unnest({keys}) AS k
        """ + _NEW_ROWS + """
        GROUP BY 1, 2
    ) g
    GROUP BY hour, i""").replace("{stride}", str(KEY_STRIDE))
# The key of one slot; {value} is the slot's column (num[i], score, ...).
NUMERIC_KEY = ("CASE WHEN {value} IS NULL OR {value} = 'NaN'::float8 OR abs({value}) >= {limit} THEN {missing} "
               "ELSE {base} + width_bucket({value}, {edges}::float8[]) END").replace("{limit}", MAX_ABS)
# Per hour: sum, sum of squares, min and max of every slot's present values, in one plain pass.
NUMERIC_MOMENTS = """
    SELECT date_trunc('hour', p.ts, 'UTC') AS hour, {moments}
    FROM predictions p """ + _NEW_ROWS + """
    GROUP BY 1"""
PREDICTION_COLUMNS = {"score": "score", "prediction": "prediction_value"}
SLOT_MOMENTS = "sum({present}), sum({square}), min({present}), max({present})"

CATEGORICAL_PROFILE = """
    SELECT hour, j, array_agg(c ORDER BY c) FILTER (WHERE c IS NOT NULL),
           array_agg(n ORDER BY c) FILTER (WHERE c IS NOT NULL), coalesce(sum(n) FILTER (WHERE c IS NULL), 0)
    FROM (
        SELECT date_trunc('hour', p.ts, 'UTC') AS hour, u.j, u.c, count(*) AS n
        FROM predictions p, unnest(p.cat{extra}) WITH ORDINALITY AS u(c, j)
        """ + _NEW_ROWS + """
        GROUP BY 1, 2, 3
    ) g
    GROUP BY hour, j"""

# The regression label over a source, bucketed on the label's reference edges.
LABEL_NUMERIC = """
    SELECT hour, array_agg(b ORDER BY b) FILTER (WHERE b >= 0), array_agg(n ORDER BY b) FILTER (WHERE b >= 0),
           0, sum(s) FILTER (WHERE b >= 0), sum(ss) FILTER (WHERE b >= 0),
           min(lo) FILTER (WHERE b >= 0), max(hi) FILTER (WHERE b >= 0)
    FROM (
        SELECT hour, CASE WHEN label_value = 'NaN'::float8 OR abs(label_value) >= {limit} THEN -1
                          ELSE width_bucket(label_value, %(label_edges)s) END AS b,
               count(*) AS n, sum(label_value) AS s, sum({square}) AS ss,
               min(label_value) AS lo, max(label_value) AS hi
        FROM src WHERE label_value IS NOT NULL GROUP BY 1, 2
    ) g GROUP BY hour""".replace("{limit}", MAX_ABS).replace("{square}", _square("label_value"))


# Counting plans: hash aggregation (the sorts the planner may pick for millions of groups are
# slower) and no JIT (compiling these wide expressions costs seconds). Local to the transaction.
COUNTING_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL enable_sort = off", "SET LOCAL work_mem = '64MB'")


class SketchRepository:
    NEW_ROWS_RANGE = """
        SELECT min(seq), max(seq), count(*) FROM predictions
        WHERE model_id = %s AND xid >= %s::text::xid8 AND xid < %s::text::xid8"""
    EXISTING = """
        SELECT hour, feature, sketch FROM drift_sketches
        WHERE model_id = %s AND hour = ANY(%s) AND feature = ANY(%s)"""
    UPSERT = """
        INSERT INTO drift_sketches (model_id, hour, feature, rows, missing, sketch) VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id, hour, feature) DO UPDATE
           SET rows = EXCLUDED.rows, missing = EXCLUDED.missing, sketch = EXCLUDED.sketch,
               change = nextval('drift_change_seq')"""
    DELETE = "DELETE FROM drift_sketches WHERE model_id = %s AND feature = %s AND hour = ANY(%s)"
    WINDOWS = """
        SELECT DISTINCT date_trunc(%s, hour, 'UTC') FROM drift_sketches
        WHERE model_id = %s AND change > %s ORDER BY 1"""
    MAX_CHANGE = "SELECT coalesce(max(change), 0) FROM drift_sketches WHERE model_id = %s"
    WINDOW = """
        SELECT hour, feature, sketch FROM drift_sketches
        WHERE model_id = %s AND hour >= %s AND hour < %s ORDER BY hour, feature"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def new_rows(self, model_id: int, lo: int, hi: int) -> tuple[int, int, int]:
        """(first seq, last seq, count) of rows written by transactions in [lo, hi)."""
        first, last, n = self.conn.execute(self.NEW_ROWS_RANGE, (model_id, str(lo), str(hi))).fetchone()
        return first or 0, last or 0, n

    def prepare_counting(self) -> None:
        for statement in COUNTING_SETTINGS:
            self.conn.execute(statement)

    def _extra(self, columns: tuple[str, ...]) -> sql.Composable:
        if not columns:
            return sql.SQL("")
        return sql.SQL(" || ARRAY[{}]").format(sql.SQL(", ").join(
            sql.SQL("p.{}").format(sql.Identifier(c)) for c in columns))

    def numeric_counts(self, layout: Layout, edges: dict[int, list[float]], params: dict) -> list[tuple]:
        """(hour, position, buckets, counts, missing, sum, sum_sq, min, max) per hour and numeric slot."""
        if not layout.numeric:
            return []
        keys, moments = [], []
        for slot in layout.numeric:
            # the slot's column: built from an int position or a fixed column name, never from input
            text = (f"p.num[{int(slot.position)}]" if slot.source == "feature"
                    else "p." + PREDICTION_COLUMNS[slot.source])
            value = sql.SQL(text)
            keys.append(sql.SQL(NUMERIC_KEY).format(
                value=value, missing=sql.Literal(slot.position * KEY_STRIDE - 1),
                base=sql.Literal(slot.position * KEY_STRIDE), edges=sql.Placeholder(f"e{slot.position}")))
            moments.append(sql.SQL(SLOT_MOMENTS.replace("{present}", _present(text)).replace(
                "{square}", _square(text))))
        counts = sql.SQL(NUMERIC_COUNTS).format(keys=sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(keys)))
        rows = self.conn.execute(counts, params | {f"e{pos}": e for pos, e in edges.items()}).fetchall()
        query = sql.SQL(NUMERIC_MOMENTS).format(moments=sql.SQL(", ").join(moments))
        sums = {r[0]: r[1:] for r in self.conn.execute(query, params)}
        out = []
        for hour, pos, buckets, counts_, missing in rows:
            k = [s.position for s in layout.numeric].index(pos)
            total, total_sq, lo, hi = sums[hour][4 * k: 4 * k + 4]
            out.append((hour, pos, buckets, counts_, missing, total, total_sq, lo, hi))
        return out

    def categorical_counts(self, layout: Layout, params: dict) -> list[tuple]:
        """(hour, position, categories, counts, missing) per hour and categorical slot."""
        if not layout.categorical:
            return []
        query = sql.SQL(CATEGORICAL_PROFILE).format(extra=self._extra(layout.extra_categorical_columns))
        return self.conn.execute(query, params).fetchall()

    def label_numeric_counts(self, source: Source, label_edges: list[float]) -> list[tuple]:
        query = source.cte() + sql.SQL(LABEL_NUMERIC)
        return self.conn.execute(query, source.params | {"label_edges": label_edges}).fetchall()

    def existing(self, model_id: int, hours: list[datetime], features: list[str]) -> dict:
        rows = self.conn.execute(self.EXISTING, (model_id, hours, features)).fetchall()
        return {(h, f): s for h, f, s in rows}

    def upsert(self, model_id: int, items: list[tuple[datetime, str, int, int, dict]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(self.UPSERT, [(model_id, h, f, rows, missing, Jsonb(s))
                                          for h, f, rows, missing, s in items])

    def delete(self, model_id: int, feature: str, hours: list[datetime]) -> None:
        self.conn.execute(self.DELETE, (model_id, feature, hours))

    def changed_windows(self, model_id: int, granularity: str, change: int) -> tuple[list[datetime], int]:
        windows = [r[0] for r in self.conn.execute(self.WINDOWS, (granularity, model_id, change))]
        return windows, self.conn.execute(self.MAX_CHANGE, (model_id,)).fetchone()[0]

    def window(self, model_id: int, start: datetime, end: datetime) -> list[tuple[datetime, str, dict]]:
        return self.conn.execute(self.WINDOW, (model_id, start, end)).fetchall()
