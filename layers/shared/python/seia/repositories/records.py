"""Tenant database: predictions, ground truths and the reference set.

Writes go through ``COPY`` into a session-local staging table, then one ``INSERT ... SELECT``
with conflict handling, all inside the caller's transaction: a batch is stored whole or not at
all, and a prediction_id already stored is counted as a duplicate, never stored twice.

Rows of a model with segment fields carry one more value, last: ``seg`` (its segment values in slot order,
docs/segments.md). The staging tables always have the column; it is copied only for such rows, so the rows
of other models keep their width and cost, and their ``seg`` stays NULL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

from seia import partitions

PREDICTION_COLUMNS = (
    "prediction_id",
    "ts",
    "num",
    "cat",
    "prediction_label",
    "prediction_value",
    "score",
    "scores",
)
REFERENCE_COLUMNS = PREDICTION_COLUMNS + ("label", "label_value")
SEGMENT_COLUMN = "seg"
GROUND_TRUTH_COLUMNS = ("prediction_id", "label", "label_value", "ts")
_TYPES = {
    "prediction_id": "text",
    "ts": "timestamptz",
    "num": "float8[]",
    "cat": "text[]",
    "prediction_label": "text",
    "prediction_value": "float8",
    "score": "float8",
    "scores": "float8[]",
    "label": "text",
    "label_value": "float8",
    "seg": "text[]",
}


@dataclass(frozen=True)
class WriteResult:
    accepted: int
    duplicates: int = 0
    unmatched: int = 0
    expired: int = 0  # labels whose prediction is past the retention horizon: stored nowhere


# COPY text format, written by hand: psycopg's generic list dumper costs ~50 us per array.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value) -> str:
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


def _float(value) -> str:
    return "\\N" if value is None else repr(value)


def _float_array(values) -> str:
    if values is None:
        return "\\N"
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


def _text_array(values) -> str:
    if values is None:
        return "\\N"
    items = ("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return ("{" + ",".join(items) + "}").translate(_COPY_ESCAPES)


def _timestamp(value) -> str:
    return "\\N" if value is None else value.isoformat()


_ENCODERS = {
    "text": _text,
    "timestamptz": _timestamp,
    "float8": _float,
    "float8[]": _float_array,
    "text[]": _text_array,
}


def _with_segments(columns: tuple[str, ...], rows: list[tuple]) -> tuple[str, ...]:
    """The columns the rows fill: ``columns``, plus ``seg`` when the rows carry it (one value more: a model with
    segment fields)."""
    return columns + (SEGMENT_COLUMN,) if rows and len(rows[0]) == len(columns) + 1 else columns


def _stage(
    conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple], extra: tuple[str, ...] = ()
) -> None:
    """Create (once per session) and fill the staging table ``table`` with ``rows``; ``extra``: columns the
    table has beside ``columns`` (NULL unless the rows fill them)."""
    cols = ", ".join(f"{c} {_TYPES[c]}" for c in dict.fromkeys(columns + extra))
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({cols}) ON COMMIT DELETE ROWS")
    encoders = [_ENCODERS[_TYPES[c]] for c in columns]
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        lines = []
        for row in rows:
            lines.append("\t".join([enc(v) for enc, v in zip(encoders, row)]))
            if len(lines) >= 2000:
                copy.write("\n".join(lines) + "\n")
                lines.clear()
        if lines:
            copy.write("\n".join(lines) + "\n")


def _keys(model_id: int) -> str:
    """The model's partition of prediction_keys: one row per stored prediction_id (tenant migration 0009)."""
    return f"prediction_keys_m{int(model_id)}"


class PredictionRepository:
    # The first row of each prediction_id of the batch claims its key; only rows whose key was claimed now are
    # stored. A concurrent writer of the same id waits on the key's unique index, then finds it taken.
    INSERT = f"""
        WITH first AS (
            SELECT DISTINCT ON (prediction_id) ctid AS row_id, prediction_id, ts FROM stage_predictions
            ORDER BY prediction_id, ctid
        ), k AS (
            INSERT INTO {{keys}} (model_id, prediction_id, ts) SELECT %(model)s, prediction_id, ts FROM first
            ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id
        ), ins AS (
            INSERT INTO predictions (model_id, {", ".join(PREDICTION_COLUMNS)}, seg)
            SELECT %(model)s, {", ".join("s." + c for c in PREDICTION_COLUMNS)}, s.seg
            FROM first f JOIN k ON k.prediction_id = f.prediction_id JOIN stage_predictions s ON s.ctid = f.row_id
        )
        SELECT count(*) FROM k"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def add(self, model_id: int, rows: list[tuple]) -> WriteResult:
        """Store prediction rows (``seia_ingest.validation.RecordValidator``: ``seg`` last, for a model with
        segment fields)."""
        columns = _with_segments(PREDICTION_COLUMNS, rows)
        _stage(self.conn, "stage_predictions", columns, rows, (SEGMENT_COLUMN,))
        partitions.ensure_for_rows(self.conn, model_id, "predictions", "stage_predictions")
        self.conn.execute("SELECT seia_model_partition('prediction_keys', %s)", (model_id,))
        found = self.conn.execute(self.INSERT.replace("{keys}", _keys(model_id)), {"model": model_id}).fetchone()
        assert found is not None  # count(*) returns one row
        inserted = found[0]
        return WriteResult(accepted=inserted, duplicates=len(rows) - inserted)

    def count(self, model_id: int) -> int:
        found = self.conn.execute("SELECT count(*) FROM predictions WHERE model_id = %s", (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        return found[0]


# Labels of a batch against the stored predictions: a label whose prediction_id has no key is unmatched (its
# prediction may come later), or expired when its timestamp is before the model's retention horizon (its
# prediction, if any, was dropped with its partition): those are counted and stored nowhere.
LABEL_COUNTS = """
    SELECT count(*) FILTER (WHERE k.prediction_id IS NULL AND {ts} < %(horizon)s),
           count(*) FILTER (WHERE k.prediction_id IS NULL AND NOT coalesce({ts} < %(horizon)s, false))
    FROM {stage} s LEFT JOIN {keys} k ON k.prediction_id = s.prediction_id"""
DROP_EXPIRED_LABELS = """
    DELETE FROM {stage} s WHERE {ts} < %(horizon)s
       AND NOT EXISTS (SELECT 1 FROM {keys} k WHERE k.prediction_id = s.prediction_id)"""
# A label sent again replaces the earlier one (a correction) and is seen anew by the drift engine. Labels are
# partitioned by arrival: an earlier copy in an older leaf moves to the current one (keeping its ts when the new
# one has none); within the current leaf the upsert replaces it, leaving an identical resend untouched.
UPSERT_LABELS = """
    WITH moved AS (
        DELETE FROM ground_truths g USING {stage} s
        WHERE g.model_id = %(model)s AND g.received_at < %(start)s AND g.prediction_id = s.prediction_id
        RETURNING g.prediction_id, g.ts
    )
    INSERT INTO {leaf} AS gt (model_id, prediction_id, label, label_value, ts, received_at)
    SELECT %(model)s, s.prediction_id, {label}, {label_value}, coalesce({ts}, m.ts), now()
    FROM {stage} s LEFT JOIN moved m ON m.prediction_id = s.prediction_id
    ON CONFLICT (prediction_id) DO UPDATE
       SET label = EXCLUDED.label, label_value = EXCLUDED.label_value,
           ts = coalesce(EXCLUDED.ts, gt.ts),
           received_at = now(), seq = nextval('ground_truth_seq')
     WHERE (gt.label, gt.label_value) IS DISTINCT FROM (EXCLUDED.label, EXCLUDED.label_value)"""


@dataclass(frozen=True)
class LabelCounts:
    expired: int
    unmatched: int


def write_labels(
    conn: psycopg.Connection,
    model_id: int,
    stage: str,
    label: str = "s.label",
    label_value: str = "s.label_value",
    ts: str = "s.ts",
) -> LabelCounts:
    """Store the labels of staging table ``stage`` (columns prediction_id, label, label_value, ts); the
    expired ones are removed from the stage first. The value expressions read the stage as ``s``."""
    from psycopg import sql

    conn.execute("SELECT seia_model_partition('prediction_keys', %s)", (model_id,))
    names = {"stage": sql.Identifier(stage), "keys": sql.Identifier(_keys(model_id))}
    limit = partitions.horizon(conn, model_id)
    found = conn.execute(sql.SQL(LABEL_COUNTS).format(ts=sql.SQL(ts), **names), {"horizon": limit}).fetchone()
    assert found is not None  # aggregates return one row
    expired, unmatched = found
    if expired:
        conn.execute(sql.SQL(DROP_EXPIRED_LABELS).format(ts=sql.SQL(ts), **names), {"horizon": limit})
    leaf, start = partitions.leaf_now(conn, model_id)
    conn.execute(
        sql.SQL(UPSERT_LABELS).format(
            leaf=sql.Identifier(leaf),
            label=sql.SQL(label),
            label_value=sql.SQL(label_value),
            ts=sql.SQL(ts),
            **names,
        ),
        {"model": model_id, "start": start},
    )
    return LabelCounts(expired=expired, unmatched=unmatched)


class GroundTruthRepository:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def add(self, model_id: int, rows: list[tuple]) -> WriteResult:
        _stage(self.conn, "stage_ground_truths", GROUND_TRUTH_COLUMNS, rows)
        counts = write_labels(self.conn, model_id, "stage_ground_truths")
        return WriteResult(accepted=len(rows) - counts.expired, unmatched=counts.unmatched, expired=counts.expired)


class ReferenceRepository:
    # Reference uploads of one model are serialised (the lock), so the probe of the other leaves is exact; a
    # repeated id within one leaf is caught by the leaf's unique index, within the batch by DISTINCT ON.
    INSERT = f"""
        INSERT INTO reference_rows (model_id, {", ".join(REFERENCE_COLUMNS)}, seg)
        SELECT DISTINCT ON (prediction_id) %(model)s, {", ".join(REFERENCE_COLUMNS)}, seg FROM stage_reference s
        WHERE NOT EXISTS (SELECT 1 FROM reference_rows r
                          WHERE r.model_id = %(model)s AND r.prediction_id = s.prediction_id)
        ORDER BY prediction_id, ctid
        ON CONFLICT DO NOTHING"""
    LOCK = "SELECT pg_advisory_xact_lock(hashtext('seia_reference'), %s)"
    BUMP = """
        INSERT INTO reference_versions AS v (model_id, rows)
        VALUES (%(model)s, (SELECT count(*) FROM reference_rows WHERE model_id = %(model)s))
        ON CONFLICT (model_id) DO UPDATE
           SET version = v.version + 1, rows = EXCLUDED.rows, updated_at = now()
        RETURNING version, rows"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def add(self, model_id: int, rows: list[tuple], replace: bool) -> tuple[WriteResult, int, int]:
        """Store reference rows; returns (result, reference version, total reference rows)."""
        self.conn.execute(self.LOCK, (model_id,))
        if replace:
            self.conn.execute("DELETE FROM reference_rows WHERE model_id = %s", (model_id,))
        _stage(self.conn, "stage_reference", _with_segments(REFERENCE_COLUMNS, rows), rows, (SEGMENT_COLUMN,))
        partitions.ensure_for_rows(self.conn, model_id, "reference_rows", "stage_reference")
        inserted = self.conn.execute(self.INSERT, {"model": model_id}).rowcount
        found = self.conn.execute(self.BUMP, {"model": model_id}).fetchone()
        assert found is not None  # INSERT ... RETURNING returns the row
        version, total = found
        return WriteResult(accepted=inserted, duplicates=len(rows) - inserted), version, total
