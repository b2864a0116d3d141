"""Tenant database, bulk files: the staging tables of one load, the final inserts, the ingest log.

A file is loaded chunk by chunk inside one transaction: each chunk is copied (binary COPY) into a
wide staging table, one typed column per feature, and moved into its table by one INSERT that
builds the num[]/cat[] arrays; the staging table is emptied for the next chunk. The prediction
ids seen so far are kept in a second temporary table, to name within-file duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from seia.repositories.records import ReferenceRepository
from seia_files.columns import GROUND_TRUTHS, REFERENCE, StagingLayout
from seia_files.errors import MAX_ERRORS, FileRejected, RowError

STAGE = "file_stage"
STAGE_IDS = "file_stage_ids"


@dataclass(frozen=True)
class IngestRecord:
    rows: int
    duplicates: int
    unmatched: int | None
    loaded_at: datetime


@dataclass(frozen=True)
class ObjectVersion:
    bucket: str
    key: str
    etag: str
    version_id: str  # '' when unversioned


class IngestLogRepository:
    GET = """
        SELECT rows, duplicates, unmatched, loaded_at FROM file_ingests
        WHERE bucket = %s AND key = %s AND etag = %s AND version_id = %s"""
    # Taken first in the load's transaction: a concurrent load of the same object waits here, then
    # finds the row and does nothing.
    CLAIM = """
        INSERT INTO file_ingests (bucket, key, etag, version_id, model_id, kind) VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (bucket, key, etag, version_id) DO NOTHING
        RETURNING 1"""
    FINISH = """
        UPDATE file_ingests SET rows = %s, duplicates = %s, unmatched = %s, loaded_at = now()
        WHERE bucket = %s AND key = %s AND etag = %s AND version_id = %s"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def get(self, obj: ObjectVersion) -> IngestRecord | None:
        with self.conn.cursor(row_factory=class_row(IngestRecord)) as cur:
            return cur.execute(self.GET, (obj.bucket, obj.key, obj.etag, obj.version_id)).fetchone()

    def claim(self, obj: ObjectVersion, model_id: int, kind: str) -> bool:
        row = self.conn.execute(self.CLAIM, (obj.bucket, obj.key, obj.etag, obj.version_id, model_id, kind))
        return row.fetchone() is not None

    def finish(self, obj: ObjectVersion, rows: int, duplicates: int, unmatched: int | None) -> None:
        self.conn.execute(self.FINISH, (rows, duplicates, unmatched, obj.bucket, obj.key, obj.etag, obj.version_id))


@dataclass(frozen=True)
class ChunkWrite:
    stored: int
    conflicts: int = 0
    unmatched: int = 0


class FileStagingRepository:
    """The staging tables of one file load; use inside the load's transaction."""

    CREATE_IDS = "CREATE TEMP TABLE {ids} (prediction_id text NOT NULL, row_no int8 NOT NULL) ON COMMIT DROP"
    # Ground truths are upserted chunk by chunk, so a repeated id must be caught before its chunk is written.
    CREATE_IDS_UNIQUE = "CREATE TEMP TABLE {ids} (prediction_id text PRIMARY KEY, row_no int8 NOT NULL) ON COMMIT DROP"
    COPY = "COPY {stage} FROM STDIN (FORMAT binary)"
    KEEP_IDS = "INSERT INTO {ids} (prediction_id, row_no) SELECT prediction_id, row_no FROM {stage}"
    KEEP_IDS_UNIQUE = KEEP_IDS + " ON CONFLICT (prediction_id) DO NOTHING"
    EMPTY = "TRUNCATE {stage}"
    DUPLICATES_IN_CHUNK = """
        SELECT prediction_id, min(row_no) AS first_row, (array_agg(row_no ORDER BY row_no))[2:] AS again
        FROM (SELECT prediction_id, row_no FROM {ids} UNION SELECT prediction_id, row_no FROM {stage}) s
        WHERE prediction_id IN (SELECT prediction_id FROM {stage})
        GROUP BY prediction_id HAVING count(*) > 1 ORDER BY 2 LIMIT %s"""
    DUPLICATES_IN_FILE = """
        SELECT prediction_id, min(row_no) AS first_row, (array_agg(row_no ORDER BY row_no))[2:] AS again
        FROM {ids} GROUP BY prediction_id HAVING count(*) > 1 ORDER BY 2 LIMIT %s"""
    INSERT = """
        INSERT INTO {table} (model_id, {columns}) SELECT %s, {values} FROM {stage}
        ON CONFLICT (model_id, prediction_id) DO NOTHING"""
    UNMATCHED = """
        SELECT count(*) FROM {stage} s
        WHERE NOT EXISTS (SELECT 1 FROM predictions p WHERE p.model_id = %s AND p.prediction_id = s.prediction_id)"""
    # The rule of GroundTruthRepository.UPSERT: a label sent again corrects the stored one.
    UPSERT_GROUND_TRUTHS = """
        INSERT INTO ground_truths (model_id, prediction_id, label, label_value, ts) SELECT %s, {values} FROM {stage}
        ON CONFLICT (model_id, prediction_id) DO UPDATE
           SET label = EXCLUDED.label, label_value = EXCLUDED.label_value,
               ts = coalesce(EXCLUDED.ts, ground_truths.ts),
               received_at = now(), seq = nextval('ground_truth_seq')
         WHERE (ground_truths.label, ground_truths.label_value)
               IS DISTINCT FROM (EXCLUDED.label, EXCLUDED.label_value)"""

    def __init__(self, conn: psycopg.Connection, layout: StagingLayout):
        self.conn = conn
        self.layout = layout
        self.ground_truths = layout.kind == GROUND_TRUTHS
        self._names = {"stage": sql.Identifier(STAGE), "ids": sql.Identifier(STAGE_IDS)}
        self._write = self._upsert_sql() if self.ground_truths else self._insert_sql()

    def _q(self, template: str, **extra) -> sql.Composed:
        return sql.SQL(template).format(**self._names, **extra)

    def create(self) -> None:
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in self.layout.columns
        )
        self.conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(sql.Identifier(STAGE), columns))
        self.conn.execute(self._q(self.CREATE_IDS_UNIQUE if self.ground_truths else self.CREATE_IDS))

    # -- statements built from the layout --------------------------------------------------
    def _insert_sql(self) -> sql.Composed:
        layout, ident = self.layout, sql.Identifier
        nan = sql.SQL("'NaN'")

        def nullif(name: str, sentinel=nan):
            return sql.SQL("NULLIF({}, {})").format(ident(name), sentinel)

        def array(items, pg_type: str):
            if not items:
                return sql.SQL("'{{}}'::{}").format(sql.SQL(pg_type))
            return sql.SQL("ARRAY[{}]::{}").format(sql.SQL(", ").join(items), sql.SQL(pg_type))

        targets = {
            "prediction_id": ident("prediction_id"),
            "ts": ident("ts"),
            "num": array([nullif(n) for n in layout.numeric], "float8[]"),
            "cat": array([ident(c) for c in layout.categorical], "text[]"),
        }
        if layout.has("prediction_label"):
            targets["prediction_label"] = ident("prediction_label")
        if layout.has("prediction_value"):
            targets["prediction_value"] = nullif("prediction_value")
        if layout.has("score"):
            targets["score"] = nullif("score")
        if layout.class_scores:
            scores = array([ident(s) for s in layout.class_scores], "float8[]")
            targets["scores"] = sql.SQL("CASE WHEN {} = 'NaN' THEN NULL ELSE {} END").format(
                ident(layout.class_scores[0]), scores
            )
        if layout.has("label"):
            targets["label"] = ident("label")
        if layout.has("label_value"):
            targets["label_value"] = nullif("label_value")
        table = "reference_rows" if layout.kind == REFERENCE else "predictions"
        return self._q(
            self.INSERT,
            table=ident(table),
            columns=sql.SQL(", ").join(ident(c) for c in targets),
            values=sql.SQL(", ").join(targets.values()),
        )

    def _upsert_sql(self) -> sql.Composed:
        layout, ident = self.layout, sql.Identifier
        null = sql.SQL("NULL")
        values = [
            ident("prediction_id"),
            ident("label") if layout.has("label") else null,
            sql.SQL("NULLIF({}, 'NaN')").format(ident("label_value")) if layout.has("label_value") else null,
            sql.SQL("NULLIF({}, '-infinity')").format(ident("ts")) if layout.has("ts") else null,
        ]
        return self._q(self.UPSERT_GROUND_TRUTHS, values=sql.SQL(", ").join(values))

    # -- per chunk ---------------------------------------------------------------------------
    def write_chunk(self, model_id: int, buffers, rows: int) -> ChunkWrite:
        """Copy one encoded chunk in and move it to its table; returns what was stored."""
        with self.conn.cursor().copy(self._q(self.COPY)) as copy:
            for buffer in buffers:
                copy.write(buffer)
        if self.ground_truths:
            kept = self.conn.execute(self._q(self.KEEP_IDS_UNIQUE)).rowcount
            if kept != rows:
                self._reject_duplicates(self._q(self.DUPLICATES_IN_CHUNK))
            found = self.conn.execute(self._q(self.UNMATCHED), (model_id,)).fetchone()
            assert found is not None  # the query always returns one row
            unmatched = found[0]
            self.conn.execute(self._write, (model_id,))
            result = ChunkWrite(stored=rows, unmatched=unmatched)
        else:
            self.conn.execute(self._q(self.KEEP_IDS))
            stored = self.conn.execute(self._write, (model_id,)).rowcount
            result = ChunkWrite(stored=stored, conflicts=rows - stored)
        self.conn.execute(self._q(self.EMPTY))
        return result

    def check_no_duplicates_in_file(self) -> None:
        """Reject the file if a prediction_id appears twice in it (run when a chunk had conflicts)."""
        self._reject_duplicates(self._q(self.DUPLICATES_IN_FILE))

    def _reject_duplicates(self, query: sql.Composed) -> None:
        errors = []
        for prediction_id, first_row, again in self.conn.execute(query, (MAX_ERRORS,)).fetchall():
            shown = prediction_id if len(prediction_id) <= 60 else prediction_id[:57] + "..."
            errors += [
                RowError(r, "prediction_id", f"duplicate of row {first_row} (prediction_id {shown!r})") for r in again
            ]
        if errors:
            raise FileRejected(errors)

    def bump_reference(self, model_id: int) -> None:
        self.conn.execute(ReferenceRepository.BUMP, {"model": model_id})
