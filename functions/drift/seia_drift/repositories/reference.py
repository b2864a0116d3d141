"""The reference a model is judged against: where it comes from, its bins and its sketches."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from seia.repositories.reference import FeatureBins as FeatureBins
from seia.repositories.reference import StoredReference as StoredReference
from seia_drift.layout import Slot
from seia_drift.repositories.sources import TS_IN_RANGE, Rows, Source

_COPY_HEADER = 19  # a binary COPY's signature (11), flags (4) and header extension length (4)
_COPY_TRAILER = 2  # the -1 field count that ends the data


def slot_expression(slot: Slot) -> sql.Composable:
    """The SQL expression (over a source aliased ``src``) of a slot's value."""
    if slot.source == "feature":
        column = "num" if slot.kind == "numeric" else "cat"
        return sql.SQL("src.{}[{}]").format(sql.Identifier(column), sql.Literal(slot.position))
    column = {
        ("numeric", "score"): "score",
        ("numeric", "prediction"): "prediction_value",
        ("numeric", "label"): "label_value",
        ("categorical", "prediction"): "prediction_label",
        ("categorical", "label"): "label",
    }[(slot.kind, slot.source)]
    return sql.SQL("src.{}").format(sql.Identifier(column))


def _reached(slot: Slot) -> sql.Composable:
    if slot.source != "feature" or not slot.added:
        return sql.SQL("")
    column = "num" if slot.kind == "numeric" else "cat"
    return sql.SQL(ReferenceRepository.SLOT_REACHED).format(sql.Identifier(column), sql.Literal(slot.position))


class ReferenceRepository:
    UPLOADED_VERSION = """
        SELECT v.version FROM reference_versions v
        WHERE v.model_id = %(model)s AND EXISTS (SELECT 1 FROM reference_rows r WHERE r.model_id = v.model_id{seg})"""
    FIRST_WINDOW = """
        SELECT date_trunc(%(granularity)s, p.ts, 'UTC') AS start, count(*) AS rows
        FROM predictions p WHERE p.model_id = %(model)s{seg} AND p.xid < %(horizon)s::text::xid8 AND {in_range}
        GROUP BY 1 HAVING count(*) >= %(min_rows)s ORDER BY 1 LIMIT 1""".replace("{in_range}", TS_IN_RANGE)
    STORED = """
        SELECT reference_key, source, window_start, window_end, rows, labeled, performance, metrics
        FROM drift_references WHERE model_id = %s"""
    SAVE = """
        INSERT INTO drift_references (model_id, reference_key, source, window_start, window_end, rows, labeled,
                                      performance, metrics)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (model_id) DO UPDATE SET
            reference_key = EXCLUDED.reference_key, source = EXCLUDED.source,
            window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end, rows = EXCLUDED.rows,
            labeled = EXCLUDED.labeled, performance = EXCLUDED.performance, metrics = EXCLUDED.metrics,
            built_at = now()"""
    FEATURES = """
        SELECT feature, kind, source, position, edges, segments, reference
        FROM drift_features WHERE model_id = %s ORDER BY kind DESC, source, position"""
    DELETE_FEATURES = "DELETE FROM drift_features WHERE model_id = %s"
    SAVE_FEATURE = """
        INSERT INTO drift_features (model_id, feature, kind, source, position, edges, segments, reference)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"""
    # Everything derived from the old reference goes; the steps rebuild it from the rows.
    DERIVED_TABLES = (
        "drift_sketches",
        "drift_performance_hourly",
        "drift_results",
        "drift_windows",
        "drift_rollups",
        "drift_performance_daily",
        "drift_segments_hourly",
        "drift_segments_reference",
    )
    # A window whose rows carry every feature added by PATCH: arrays reaching the last added slot of each kind.
    FIRST_COVERING_WINDOW = """
        SELECT date_trunc(%(granularity)s, p.ts, 'UTC') AS start, count(*) AS rows
        FROM predictions p WHERE p.model_id = %(model)s{seg} AND p.xid < %(horizon)s::text::xid8 AND {in_range}
          AND cardinality(p.num) >= %(num)s AND cardinality(p.cat) >= %(cat)s
        GROUP BY 1 HAVING count(*) >= %(min_rows)s ORDER BY 1 LIMIT 1""".replace("{in_range}", TS_IN_RANGE)
    COUNT_ROWS = "SELECT count(*), count(label) + count(label_value) FROM src"
    NUMERIC_VALUES = "SELECT array_agg({expr}) FROM src {where}"
    CATEGORY_COUNTS = "SELECT {expr} AS value, count(*) FROM src {where} GROUP BY 1 ORDER BY 1"
    # A slot past the end of a row's array (the row predates the feature) is no value, not a missing one.
    SLOT_REACHED = "WHERE cardinality(src.{}) >= {}"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def uploaded_version(self, rows: Rows) -> int | None:
        """The uploaded reference's version, when it has rows (of a segment model: rows of its value)."""
        row = self.conn.execute(rows.sql(self.UPLOADED_VERSION, "r"), rows.params).fetchone()
        return row[0] if row else None

    def first_window(self, rows: Rows, granularity: str, min_rows: int, horizon: int) -> datetime | None:
        row = self.conn.execute(
            rows.sql(self.FIRST_WINDOW),
            rows.params | {"granularity": granularity, "horizon": str(horizon), "min_rows": min_rows},
        ).fetchone()
        return row[0] if row else None

    def first_covering_window(
        self, rows: Rows, granularity: str, min_rows: int, horizon: int, num: int, cat: int
    ) -> datetime | None:
        """The first window with `min_rows` rows whose ``num[]`` and ``cat[]`` reach slots `num` and `cat`."""
        row = self.conn.execute(
            rows.sql(self.FIRST_COVERING_WINDOW),
            rows.params
            | {
                "granularity": granularity,
                "horizon": str(horizon),
                "min_rows": min_rows,
                "num": num,
                "cat": cat,
            },
        ).fetchone()
        return row[0] if row else None

    def stored(self, model_id: int) -> StoredReference | None:
        with self.conn.cursor(row_factory=class_row(StoredReference)) as cur:
            return cur.execute(self.STORED, (model_id,)).fetchone()

    def features(self, model_id: int) -> list[FeatureBins]:
        with self.conn.cursor(row_factory=class_row(FeatureBins)) as cur:
            return cur.execute(self.FEATURES, (model_id,)).fetchall()

    def counts(self, source: Source) -> tuple[int, int]:
        found = self.conn.execute(source.cte() + sql.SQL(self.COUNT_ROWS), source.params).fetchone()
        assert found is not None  # an aggregate returns one row
        return found[0], found[1]

    def numeric_values(self, source: Source, slot: Slot) -> np.ndarray:
        """The slot's values over the source (missing as NaN), fetched in binary."""
        query = source.cte() + sql.SQL(self.NUMERIC_VALUES).format(expr=slot_expression(slot), where=_reached(slot))
        with self.conn.cursor(binary=True) as cur:
            found = cur.execute(query, source.params).fetchone()
            assert found is not None  # the query always returns one row
            values = found[0]
        return np.asarray(values if values is not None else [], dtype=float)

    def numeric_columns(self, source: Source, slots: list[Slot]) -> dict[str, np.ndarray]:
        """Every numeric slot's values over the source (missing as NaN), by feature, in one read:
        a binary COPY of one float8 column per slot (and the arrays' lengths, when a slot was added by PATCH:
        a row that predates the slot carries no value of it, as :meth:`numeric_values`' ``SLOT_REACHED``).
        The same values, in the same row order, as one :meth:`numeric_values` per slot; one scan, not one
        per slot."""
        slots = [s for s in slots if s.kind == "numeric"]
        if not slots:
            return {}
        columns: list[sql.Composable] = [
            sql.SQL("coalesce({}, 'NaN')::float8").format(slot_expression(s)) for s in slots
        ]
        added = any(s.source == "feature" and s.added for s in slots)
        if added:
            columns.append(sql.SQL("coalesce(cardinality(src.num), 0)::float8"))
        query = (
            sql.SQL("COPY (")
            + source.cte()
            + sql.SQL("SELECT {} FROM src) TO STDOUT (FORMAT binary)").format(sql.SQL(", ").join(columns))
        )
        raw = bytearray()
        with self.conn.cursor() as cur, cur.copy(query, source.params) as copy:
            for block in copy:
                raw += block
        fields: list[tuple[str, str]] = [("n", ">i2")]
        for k in range(len(columns)):
            fields += [(f"l{k}", ">i4"), (f"v{k}", ">f8")]
        body = memoryview(raw)[_COPY_HEADER : len(raw) - _COPY_TRAILER]
        records = np.frombuffer(body, dtype=np.dtype(fields))
        length = records[f"v{len(slots)}"] if added else None
        out = {}
        for k, slot in enumerate(slots):
            values = records[f"v{k}"].astype(np.float64)
            if slot.source == "feature" and slot.added and length is not None:
                values = values[length >= slot.position]
            out[slot.feature] = values
        return out

    def category_counts(self, source: Source, slot: Slot) -> tuple[dict[str, int], int]:
        query = source.cte() + sql.SQL(self.CATEGORY_COUNTS).format(expr=slot_expression(slot), where=_reached(slot))
        counts, missing = {}, 0
        for value, n in self.conn.execute(query, source.params):
            if value is None:
                missing = n
            else:
                counts[value] = n
        return counts, missing

    def replace(
        self, model_id: int, reference: StoredReference, features: list[FeatureBins], keep: tuple[str, ...] = ()
    ) -> None:
        """Store a new reference and its bins, dropping every result derived from the old one but the sketches and
        results of the features in `keep` (removed features: their history stays readable, it is never recomputed)."""
        for table in self.DERIVED_TABLES:
            query = sql.SQL("DELETE FROM {} WHERE model_id = %s").format(sql.Identifier(table))
            if keep and table in ("drift_sketches", "drift_results"):
                self.conn.execute(query + sql.SQL(" AND feature <> ALL(%s)"), (model_id, list(keep)))
                continue
            self.conn.execute(query, (model_id,))
        self.conn.execute(self.DELETE_FEATURES, (model_id,))
        r = reference
        self.conn.execute(
            self.SAVE,
            (
                model_id,
                r.reference_key,
                r.source,
                r.window_start,
                r.window_end,
                r.rows,
                r.labeled,
                Jsonb(r.performance) if r.performance else None,
                Jsonb(r.metrics) if r.metrics else None,
            ),
        )
        with self.conn.cursor() as cur:
            cur.executemany(
                self.SAVE_FEATURE,
                [
                    (model_id, f.feature, f.kind, f.source, f.position, f.edges, f.segments, Jsonb(f.reference))
                    for f in features
                ],
            )
