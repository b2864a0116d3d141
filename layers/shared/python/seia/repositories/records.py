"""Tenant database: predictions, ground truths and the reference set.

Writes go through ``COPY`` into a session-local staging table, then one ``INSERT ... SELECT``
with conflict handling, all inside the caller's transaction: a batch is stored whole or not at
all, and a prediction_id already stored is counted as a duplicate, never stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

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
}


@dataclass(frozen=True)
class WriteResult:
    accepted: int
    duplicates: int = 0
    unmatched: int = 0


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


def _stage(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Create (once per session) and fill the staging table ``table`` with ``rows``."""
    cols = ", ".join(f"{c} {_TYPES[c]}" for c in columns)
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


class PredictionRepository:
    INSERT = f"""
        INSERT INTO predictions (model_id, {", ".join(PREDICTION_COLUMNS)})
        SELECT %s, {", ".join(PREDICTION_COLUMNS)} FROM stage_predictions
        ON CONFLICT (model_id, prediction_id) DO NOTHING"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def add(self, model_id: int, rows: list[tuple]) -> WriteResult:
        _stage(self.conn, "stage_predictions", PREDICTION_COLUMNS, rows)
        inserted = self.conn.execute(self.INSERT, (model_id,)).rowcount
        return WriteResult(accepted=inserted, duplicates=len(rows) - inserted)

    def count(self, model_id: int) -> int:
        found = self.conn.execute("SELECT count(*) FROM predictions WHERE model_id = %s", (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        return found[0]


class GroundTruthRepository:
    UNMATCHED = """
        SELECT count(*) FROM stage_ground_truths s
        WHERE NOT EXISTS (SELECT 1 FROM predictions p WHERE p.model_id = %s AND p.prediction_id = s.prediction_id)"""
    # A label sent again replaces the earlier one (a correction) and is seen anew by the drift engine.
    UPSERT = f"""
        INSERT INTO ground_truths (model_id, {", ".join(GROUND_TRUTH_COLUMNS)})
        SELECT %s, {", ".join(GROUND_TRUTH_COLUMNS)} FROM stage_ground_truths
        ON CONFLICT (model_id, prediction_id) DO UPDATE
           SET label = EXCLUDED.label, label_value = EXCLUDED.label_value,
               ts = coalesce(EXCLUDED.ts, ground_truths.ts),
               received_at = now(), seq = nextval('ground_truth_seq')
         WHERE (ground_truths.label, ground_truths.label_value)
               IS DISTINCT FROM (EXCLUDED.label, EXCLUDED.label_value)"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def add(self, model_id: int, rows: list[tuple]) -> WriteResult:
        _stage(self.conn, "stage_ground_truths", GROUND_TRUTH_COLUMNS, rows)
        found = self.conn.execute(self.UNMATCHED, (model_id,)).fetchone()
        assert found is not None  # the query always returns one row
        unmatched = found[0]
        self.conn.execute(self.UPSERT, (model_id,))
        return WriteResult(accepted=len(rows), unmatched=unmatched)


class ReferenceRepository:
    INSERT = f"""
        INSERT INTO reference_rows (model_id, {", ".join(REFERENCE_COLUMNS)})
        SELECT %s, {", ".join(REFERENCE_COLUMNS)} FROM stage_reference
        ON CONFLICT (model_id, prediction_id) DO NOTHING"""
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
        if replace:
            self.conn.execute("DELETE FROM reference_rows WHERE model_id = %s", (model_id,))
        _stage(self.conn, "stage_reference", REFERENCE_COLUMNS, rows)
        inserted = self.conn.execute(self.INSERT, (model_id,)).rowcount
        found = self.conn.execute(self.BUMP, {"model": model_id}).fetchone()
        assert found is not None  # INSERT ... RETURNING returns the row
        version, total = found
        return WriteResult(accepted=inserted, duplicates=len(rows) - inserted), version, total
