"""Tenant database, bulk files: the staging tables of one load, the final inserts, the ingest log.

A file is loaded chunk by chunk inside one transaction. Predictions are copied (binary COPY) straight into
their partitions, their keys into prediction_keys first (see FileStagingRepository._write_direct). Labels and
reference rows are copied into a wide staging table, one typed column per feature, and moved into their table
by one INSERT that builds the num[]/cat[] arrays; the staging table is emptied for the next chunk. The
prediction ids seen so far are kept in a second temporary table, to name within-file duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from seia.partitions import ensure_days, ensure_for_rows
from seia.repositories.records import ReferenceRepository, write_labels
from seia_files.columns import GROUND_TRUTHS, PREDICTIONS, StagingLayout
from seia_files.encoding import HEADER, TRAILER, ChunkKeys, PredictionRowsEncoder
from seia_files.errors import MAX_ERRORS, FileRejected, RowError

STAGE = "file_stage"
STAGE_IDS = "file_stage_ids"
STAGE_ROWS = "file_stage_rows"
STAGE_CLAIMS = "file_stage_claims"
_KEY_COLUMNS = sql.SQL(", ").join(sql.Identifier(c) for c in PredictionRowsEncoder.KEY_COLUMNS)
_ID_COLUMNS = sql.SQL(", ").join(sql.Identifier(c) for c in PredictionRowsEncoder.ID_COLUMNS)


@dataclass(frozen=True)
class IngestRecord:
    rows: int
    duplicates: int
    unmatched: int | None
    expired: int | None
    loaded_at: datetime


@dataclass(frozen=True)
class ObjectVersion:
    bucket: str
    key: str
    etag: str
    version_id: str  # '' when unversioned


class IngestLogRepository:
    GET = """
        SELECT rows, duplicates, unmatched, expired, loaded_at FROM file_ingests
        WHERE bucket = %s AND key = %s AND etag = %s AND version_id = %s"""
    # Taken first in the load's transaction: a concurrent load of the same object waits here, then
    # finds the row and does nothing.
    CLAIM = """
        INSERT INTO file_ingests (bucket, key, etag, version_id, model_id, kind) VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (bucket, key, etag, version_id) DO NOTHING
        RETURNING 1"""
    FINISH = """
        UPDATE file_ingests SET rows = %s, duplicates = %s, unmatched = %s, expired = %s, loaded_at = now()
        WHERE bucket = %s AND key = %s AND etag = %s AND version_id = %s"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def get(self, obj: ObjectVersion) -> IngestRecord | None:
        with self.conn.cursor(row_factory=class_row(IngestRecord)) as cur:
            return cur.execute(self.GET, (obj.bucket, obj.key, obj.etag, obj.version_id)).fetchone()

    def claim(self, obj: ObjectVersion, model_id: int, kind: str) -> bool:
        """Record the load of ``obj`` (False: another delivery did). The row's key on the model holds the
        model for the rest of the load (a DELETE waits, then answers 409); a model deleted since it was
        looked up makes the file rejected, with nothing written."""
        try:
            with self.conn.transaction():
                row = self.conn.execute(self.CLAIM, (obj.bucket, obj.key, obj.etag, obj.version_id, model_id, kind))
        except psycopg.errors.ForeignKeyViolation:
            raise FileRejected.file(
                "the model was deleted while this file waited to load; nothing of it was stored"
            ) from None
        return row.fetchone() is not None

    def finish(
        self, obj: ObjectVersion, rows: int, duplicates: int, unmatched: int | None, expired: int | None = None
    ) -> None:
        self.conn.execute(
            self.FINISH, (rows, duplicates, unmatched, expired, obj.bucket, obj.key, obj.etag, obj.version_id)
        )


@dataclass(frozen=True)
class ChunkWrite:
    stored: int
    conflicts: int = 0
    unmatched: int = 0
    expired: int = 0


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
    # Reference rows (ReferenceRepository.INSERT): loads of one model's reference are serialised by its lock.
    INSERT_REFERENCE = """
        INSERT INTO reference_rows (model_id, {columns}) SELECT %(model)s, {values} FROM {stage} s
        WHERE NOT EXISTS (SELECT 1 FROM reference_rows r
                          WHERE r.model_id = %(model)s AND r.prediction_id = s.prediction_id)
        ON CONFLICT DO NOTHING"""

    # Predictions are copied straight into the partitions (seia_files.encoding.PredictionRowsEncoder), their keys
    # claimed after them, sorted, in the same transaction (_write_direct, claim_keys). Chunks staged in the wide
    # form by an earlier version (write_staged_predictions) go through a staging copy of the rows and
    # INSERT_PREDICTIONS_STAGED: keys first, the rows of the keys claimed.
    CREATE_ROWS = "CREATE TEMP TABLE {rows} (LIKE predictions INCLUDING DEFAULTS) ON COMMIT DROP"
    CREATE_CLAIMS = "CREATE TEMP TABLE {claims} (LIKE prediction_keys) ON COMMIT DROP"
    # The direct load's keys when some are taken: claim the others; this transaction's rows of the taken ones
    # go (an id twice in the file is claimed once and rejects the file: check_no_duplicates_in_file).
    CLAIM_CAREFULLY = """
        WITH k AS (
            INSERT INTO {keys} (model_id, prediction_id, ts)
            SELECT model_id, prediction_id, ts FROM {claims} ORDER BY prediction_id
            ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id
        ), taken AS (
            DELETE FROM predictions p
            WHERE p.model_id = %(model)s AND (p.xid::text)::bigint = (pg_current_xact_id()::text)::bigint
              AND p.prediction_id IN (SELECT prediction_id FROM {claims} EXCEPT SELECT prediction_id FROM k)
        )
        SELECT count(*) FROM k"""
    INSERT_PREDICTIONS_STAGED = """
        WITH k AS (
            INSERT INTO {keys} (model_id, prediction_id, ts) SELECT model_id, prediction_id, ts FROM {rows}
            ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id
        ), ins AS (
            INSERT INTO predictions ({columns}) SELECT {columns} FROM {rows}
            WHERE prediction_id IN (SELECT prediction_id FROM k)
        )
        SELECT count(*) FROM k"""

    IDS_KEPT_BYTES = 64 << 20
    KEYS_KEPT_BYTES = 96 << 20

    def __init__(self, conn: psycopg.Connection, layout: StagingLayout):
        self.conn = conn
        self.layout = layout
        self.ground_truths = layout.kind == GROUND_TRUTHS
        self.direct = layout.kind == PREDICTIONS
        self.columns: list[str] = []  # predictions' columns the direct COPY fills (use_encoder)
        self._names = {
            "stage": sql.Identifier(STAGE),
            "ids": sql.Identifier(STAGE_IDS),
            "rows": sql.Identifier(STAGE_ROWS),
            "claims": sql.Identifier(STAGE_CLAIMS),
        }
        self._writes: dict[int, sql.Composed] = {}
        self.encoder: PredictionRowsEncoder | None = None  # direct predictions (use_encoder)
        self._pending_ids: list[list] = []  # direct predictions: ids not copied in yet (see _write_direct)
        self._pending_bytes = 0
        self._ids_copied = False
        self._keys: list[ChunkKeys] = []  # direct predictions: keys of stored rows, not claimed yet
        self._keys_bytes = 0

    def use_encoder(self, encoder: PredictionRowsEncoder) -> None:
        """Direct predictions: chunks come from ``encoder``."""
        self.encoder, self.columns = encoder, encoder.columns

    def _q(self, template: str, **extra) -> sql.Composed:
        return sql.SQL(template).format(**self._names, **extra)

    def create(self) -> None:
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in self.layout.columns
        )
        self.conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(sql.Identifier(STAGE), columns))
        self.conn.execute(self._q(self.CREATE_IDS_UNIQUE if self.ground_truths else self.CREATE_IDS))
        if self.direct:
            self.conn.execute(self._q(self.CREATE_ROWS))
            self.conn.execute(self._q(self.CREATE_CLAIMS))

    # -- statements built from the layout --------------------------------------------------
    def _insert_sql(self, model_id: int) -> sql.Composed:
        targets = self._targets()
        return self._q(
            self.INSERT_REFERENCE,
            columns=sql.SQL(", ").join(sql.Identifier(c) for c in targets),
            values=sql.SQL(", ").join(targets.values()),
        )

    def _targets(self) -> dict[str, sql.Composable]:
        """The raw row's columns and how each is built from the wide staging table's."""
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
        if layout.segments:
            targets["seg"] = array([sql.SQL("NULL") if g is None else ident(g) for g in layout.segments], "text[]")
        return targets

    def _label_values(self) -> dict[str, str]:
        """The label columns of the staging table (``s``) as records.write_labels takes them."""
        has = self.layout.has
        return {
            "label": "s.label" if has("label") else "NULL::text",
            "label_value": "NULLIF(s.label_value, 'NaN')" if has("label_value") else "NULL::float8",
            "ts": "NULLIF(s.ts, '-infinity')" if has("ts") else "NULL::timestamptz",
        }

    # -- per chunk ---------------------------------------------------------------------------
    def write_chunk(self, model_id: int, buffers, rows: int) -> ChunkWrite:
        """Copy one encoded chunk in and move it to its table; returns what was stored."""
        if self.direct:
            return self._write_direct(model_id, buffers, rows)
        with self.conn.cursor().copy(self._q(self.COPY)) as copy:
            for buffer in buffers:
                copy.write(buffer)
        if self.ground_truths:
            kept = self.conn.execute(self._q(self.KEEP_IDS_UNIQUE)).rowcount
            if kept != rows:
                self._reject_duplicates(self._q(self.DUPLICATES_IN_CHUNK))
            counts = write_labels(self.conn, model_id, STAGE, **self._label_values())
            result = ChunkWrite(stored=rows - counts.expired, unmatched=counts.unmatched, expired=counts.expired)
        else:
            self.conn.execute(self._q(self.KEEP_IDS))
            write = self._writes.get(model_id) or self._writes.setdefault(model_id, self._insert_sql(model_id))
            self.conn.execute(ReferenceRepository.LOCK, (model_id,))
            ensure_for_rows(self.conn, model_id, "reference_rows", STAGE)
            stored = self.conn.execute(write, {"model": model_id}).rowcount
            result = ChunkWrite(stored=stored, conflicts=rows - stored)
        self.conn.execute(self._q(self.EMPTY))
        return result

    def write_staged_predictions(self, model_id: int, buffers, rows: int) -> ChunkWrite:
        """A predictions chunk encoded for the wide staging table (CopyEncoder: a file's parts keep their
        chunks in that form), stored the careful way: rows built from the staging columns, keys first, a key
        already taken counted as a duplicate (INSERT_PREDICTIONS_STAGED)."""
        self._copy(self._q(self.COPY), buffers)
        ensure_for_rows(self.conn, model_id, "predictions", STAGE)
        self.conn.execute("SELECT seia_model_partition('prediction_keys', %s)", (model_id,))
        targets = self._targets()
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in ["model_id", *targets])
        self.conn.execute(self._q("TRUNCATE {rows}"))
        self.conn.execute(
            self._q(
                "INSERT INTO {rows} ({columns}) SELECT %(model)s, {values} FROM {stage}",
                columns=columns,
                values=sql.SQL(", ").join(targets.values()),
            ),
            {"model": model_id},
        )
        keys_table = sql.Identifier(f"prediction_keys_m{int(model_id)}")
        found = self.conn.execute(self._q(self.INSERT_PREDICTIONS_STAGED, keys=keys_table, columns=columns)).fetchone()
        assert found is not None  # count(*) returns one row
        self.conn.execute(self._q(self.EMPTY))
        return ChunkWrite(stored=found[0], conflicts=rows - found[0])

    def _copy(self, statement: sql.Composed, buffers) -> None:
        with self.conn.cursor().copy(statement) as copy:
            for buffer in buffers:
                copy.write(buffer)

    def _write_direct(self, model_id: int, encoded, rows: int) -> ChunkWrite:
        """A predictions chunk encoded by PredictionRowsEncoder: [rows, keys, ids or None, days].

        The rows are copied straight into their leaves now; their keys are kept (up to ``KEYS_KEPT_BYTES``)
        and claimed later, all together and sorted (``claim_keys``, also called by ``finish``), in the same
        transaction. The chunk's ids (to name an id repeated within the file) are only needed once a claim
        has a conflict: until then they are kept here (up to ``IDS_KEPT_BYTES``) and copied in only then;
        from the first conflict on, every chunk's ids are copied in with it."""
        stream, keys, ids, days = encoded
        if ids is not None:  # None: a published part (its file's ids were checked when every part was staged)
            self._pending_ids.append(ids)
            self._pending_bytes += sum(len(b) for b in ids)
            if self._ids_copied or self._pending_bytes > self.IDS_KEPT_BYTES:
                self._copy_ids()
        ensure_days(self.conn, model_id, "predictions", days)
        self._copy(sql.SQL("COPY predictions ({}) FROM STDIN (FORMAT binary)").format(self._columns()), stream)
        self._keys.append(keys)
        self._keys_bytes += keys.nbytes
        if self._keys_bytes > self.KEYS_KEPT_BYTES:
            return self.claim_keys(model_id, ChunkWrite(stored=rows))
        return ChunkWrite(stored=rows)

    def finish(self, model_id: int) -> ChunkWrite:
        """After the last chunk: the kept keys claimed (their rows are stored already); what that changed."""
        return self.claim_keys(model_id, ChunkWrite(stored=0))

    def claim_keys(self, model_id: int, write: ChunkWrite) -> ChunkWrite:
        """The kept keys into prediction_keys, sorted (one pass over the unique index's pages, and one order
        between writers), by COPY under a savepoint. A key already taken (a row stored before, by any writer,
        or an id twice in the file) undoes the COPY: the keys then go in with ``ON CONFLICT DO NOTHING``
        and the rows of this transaction whose key was not claimed are deleted (CLAIM_CAREFULLY); they are
        the duplicates. ``write`` plus what the claim changed."""
        if not self._keys:
            return write
        assert self.encoder is not None  # set with the columns of the direct load
        keys = ChunkKeys.sorted(self._keys)
        self._keys, self._keys_bytes = [], 0
        stream = self.encoder.keys_stream(keys)
        keys_table = sql.Identifier(f"prediction_keys_m{int(model_id)}")
        self.conn.execute("SELECT seia_model_partition('prediction_keys', %s)", (model_id,))
        try:
            with self.conn.transaction():
                self._copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(keys_table, _KEY_COLUMNS), stream)
            return write
        except psycopg.errors.UniqueViolation:
            pass
        self._ids_copied = True
        if self._pending_ids:
            self._copy_ids()
        self.conn.execute(self._q("TRUNCATE {claims}"))
        self._copy(self._q("COPY {claims} ({columns}) FROM STDIN (FORMAT binary)", columns=_KEY_COLUMNS), stream)
        found = self.conn.execute(self._q(self.CLAIM_CAREFULLY, keys=keys_table), {"model": model_id}).fetchone()
        assert found is not None  # count(*) returns one row
        conflicts = len(keys.ts) - found[0]
        return ChunkWrite(stored=write.stored - conflicts, conflicts=write.conflicts + conflicts)

    def _columns(self) -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)

    def _copy_ids(self) -> None:
        """The kept ids into the ids table."""
        statement = self._q("COPY {ids} ({columns}) FROM STDIN (FORMAT binary)", columns=_ID_COLUMNS)
        with self.conn.cursor().copy(statement) as copy:
            copy.write(HEADER)
            for _, tuples, _ in self._pending_ids:  # each a whole stream: its tuples only
                copy.write(tuples)
            copy.write(TRAILER)
        self._pending_ids, self._pending_bytes = [], 0

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
