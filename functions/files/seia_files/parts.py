"""Files in parts: a file too large for one invocation, loaded by several side by side (docs/bulk-files.md).

1. **Plan** (the object's own message): ``seia_files.planning`` cuts the file; the plan and one ledger row
   per part are written in the tenant database (``file_part_loads``, ``file_parts``), then one *stage*
   message per part goes to the file work queue, in the tenant's message group.
2. **Stage** (a part's message): the part is read with ranged GETs, checked and encoded as the one-piece
   loader does (``seia_files.loader``), and its chunks are kept as COPY data (``file_part_chunks``; predictions
   as the COPY stream of ``predictions`` itself and their keys, see ``pack_rows``), with
   its prediction ids (``file_part_ids``). The part's ledger row, locked for the whole step, changes to
   ``staged`` in the same transaction, so a part delivered again after its commit does nothing, and one
   whose invocation died left nothing and runs again. A part with a bad row is ``rejected`` (its errors
   kept, its rows not).
3. **Decide** (after each part): once every part before the first rejected one is staged, the file is
   rejected, with the errors of that part numbered as rows of the whole file, and its staging is deleted;
   once every part is staged, the whole file's prediction ids are checked for repeats, then the file is
   ``publishing`` and one *publish* message per part is sent.
4. **Publish** (a part's message): its staged chunks go through ``FileStagingRepository.write_chunk``,
   exactly as a one-piece load writes a chunk (duplicates, late labels, unmatched; predictions' keys are
   claimed after the part's last chunk, ``FileStagingRepository.finish``), in one transaction
   with the part's ``published`` state. After the last part, the file is recorded in ``file_ingests``
   (the same record as a one-piece load), the reference version is bumped, and the result is written.

Every step is idempotent and any transient failure is retried by SQS with the message that caused it.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg.rows import class_row

from seia import telemetry
from seia.fair_queue import Outgoing, send_all
from seia.schema import Model
from seia_files import formats, keys, planning
from seia_files.columns import GROUND_TRUTHS, PREDICTIONS, REFERENCE, ChunkValidator
from seia_files.encoding import HEADER, TRAILER, ChunkKeys, CopyEncoder, PredictionRowsEncoder
from seia_files.errors import MAX_ERRORS, FileRejected, RowError, TransientFailure
from seia_files.events import ObjectCreated
from seia_files.loader import FileLoader, _pipeline
from seia_files.repository import FileStagingRepository, IngestLogRepository, ObjectVersion
from seia_files.results import LOADED, REJECTED, FileResult
from seia_files.routing import tenant_group
from seia_files.storage import ObjectStore, S3Stream, classify

log = logging.getLogger(__name__)

MESSAGE_KEY = "seia_file_part"
STAGE, PUBLISH = "stage", "publish"


# -- messages --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartMessage:
    obj: ObjectCreated
    file_id: int
    part: int
    step: str

    def body(self) -> str:
        o = self.obj
        return json.dumps(
            {
                MESSAGE_KEY: {
                    "bucket": o.bucket,
                    "key": o.key,
                    "etag": o.etag,
                    "version_id": o.version_id,
                    "size": o.size,
                    "file": self.file_id,
                    "part": self.part,
                    "step": self.step,
                }
            }
        )


def part_message(body: str | None) -> PartMessage | None:
    """The part message in a work-queue body; None for anything else (an S3 notification)."""
    if not body or MESSAGE_KEY not in body:
        return None
    try:
        content = json.loads(body)[MESSAGE_KEY]
        obj = ObjectCreated(
            bucket=str(content["bucket"]),
            key=str(content["key"]),
            etag=content.get("etag"),
            version_id=content.get("version_id"),
            size=content.get("size"),
        )
        step = content["step"]
        if step not in (STAGE, PUBLISH):
            return None
        return PartMessage(obj, int(content["file"]), int(content["part"]), step)
    except (ValueError, KeyError, TypeError):
        return None


# -- the ledger ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileRecord:
    id: int
    key: str
    model_id: int
    kind: str
    columns: list[str]
    parts: int
    state: str
    errors: list[dict] | None


@dataclass(frozen=True)
class PartRecord:
    part: int
    start_byte: int | None
    end_byte: int | None
    row_groups: list[int] | None
    state: str
    rows: int | None
    stored: int | None
    duplicates: int | None
    unmatched: int | None
    expired: int | None
    errors: list[dict] | None


class PartsRepository:
    CREATE_FILE = """
        INSERT INTO file_part_loads (bucket, key, etag, version_id, model_id, kind, columns, parts)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (bucket, key, etag, version_id) DO NOTHING RETURNING id"""
    CREATE_PART = """
        INSERT INTO file_parts (file_id, part, start_byte, end_byte, row_groups) VALUES (%s, %s, %s, %s, %s)"""
    FILE_COLUMNS = "SELECT id, key, model_id, kind, columns, parts, state, errors FROM file_part_loads"
    FIND_FILE = FILE_COLUMNS + " WHERE bucket = %s AND key = %s AND etag = %s AND version_id = %s"
    GET_FILE = FILE_COLUMNS + " WHERE id = %s"
    PART_COLUMNS = (
        "SELECT part, start_byte, end_byte, row_groups, state, rows, stored, duplicates, unmatched, expired, errors"
    )
    PARTS = PART_COLUMNS + " FROM file_parts WHERE file_id = %s ORDER BY part"
    LOCK_PART = PART_COLUMNS + " FROM file_parts WHERE file_id = %s AND part = %s FOR UPDATE"
    SET_PART = """
        UPDATE file_parts SET state = %s, rows = %s, errors = %s, updated_at = now() WHERE file_id = %s AND part = %s"""
    PUBLISHED = """
        UPDATE file_parts SET state = 'published', stored = %s, duplicates = %s, unmatched = %s, expired = %s,
                              updated_at = now()
        WHERE file_id = %s AND part = %s"""
    SET_FILE = "UPDATE file_part_loads SET state = %s, errors = %s, finished_at = %s WHERE id = %s"
    ADD_CHUNK = "INSERT INTO file_part_chunks (file_id, part, chunk, rows, data) VALUES (%s, %s, %s, %s, %b)"
    CHUNK_NUMBERS = "SELECT chunk, rows FROM file_part_chunks WHERE file_id = %s AND part = %s ORDER BY chunk"
    CHUNK = "SELECT data FROM file_part_chunks WHERE file_id = %s AND part = %s AND chunk = %s"
    COPY_IDS = "COPY file_part_ids (file_id, part, row_no, prediction_id) FROM STDIN (FORMAT binary)"
    DROP_PART_CHUNKS = "DELETE FROM file_part_chunks WHERE file_id = %s AND part = %s"
    DROP_CHUNKS = "DELETE FROM file_part_chunks WHERE file_id = %s"
    DROP_IDS = "DELETE FROM file_part_ids WHERE file_id = %s"
    # Rows of the whole file: a part's row plus the rows of the parts before it (%s: those offsets, by part).
    REPEATED_IDS = """
        SELECT prediction_id, array_agg(r ORDER BY r) FROM (
            SELECT prediction_id, row_no + (%s::int8[])[part + 1] AS r FROM file_part_ids WHERE file_id = %s) s
        GROUP BY prediction_id HAVING count(*) > 1 ORDER BY min(r) LIMIT %s"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def create(self, version: ObjectVersion, model_id: int, kind: str, plan: planning.Plan) -> int | None:
        """The new file's id; None when the object was planned already."""
        row = self.conn.execute(
            self.CREATE_FILE,
            (
                version.bucket,
                version.key,
                version.etag,
                version.version_id,
                model_id,
                kind,
                json.dumps(plan.columns),
                len(plan.parts),
            ),
        ).fetchone()
        if row is None:
            return None
        with self.conn.cursor() as cur:
            cur.executemany(
                self.CREATE_PART,
                [
                    (row[0], i, p.start_byte, p.end_byte, list(p.row_groups) if p.row_groups is not None else None)
                    for i, p in enumerate(plan.parts)
                ],
            )
        return row[0]

    def find(self, version: ObjectVersion) -> FileRecord | None:
        with self.conn.cursor(row_factory=class_row(FileRecord)) as cur:
            return cur.execute(
                self.FIND_FILE, (version.bucket, version.key, version.etag, version.version_id)
            ).fetchone()

    def file(self, file_id: int, lock: str = "") -> FileRecord | None:
        with self.conn.cursor(row_factory=class_row(FileRecord)) as cur:
            return cur.execute(self.GET_FILE + (f" FOR {lock}" if lock else ""), (file_id,)).fetchone()

    def parts(self, file_id: int) -> list[PartRecord]:
        with self.conn.cursor(row_factory=class_row(PartRecord)) as cur:
            return cur.execute(self.PARTS, (file_id,)).fetchall()

    def lock_part(self, file_id: int, part: int) -> PartRecord | None:
        with self.conn.cursor(row_factory=class_row(PartRecord)) as cur:
            return cur.execute(self.LOCK_PART, (file_id, part)).fetchone()

    def set_part(self, file_id: int, part: int, state: str, rows: int | None, errors: list[RowError] | None) -> None:
        payload = json.dumps([e.as_dict() for e in errors]) if errors is not None else None
        self.conn.execute(self.SET_PART, (state, rows, payload, file_id, part))

    def published(
        self, file_id: int, part: int, stored: int, duplicates: int, unmatched: int | None, expired: int | None
    ) -> None:
        self.conn.execute(self.PUBLISHED, (stored, duplicates, unmatched, expired, file_id, part))
        self.conn.execute(self.DROP_PART_CHUNKS, (file_id, part))

    def set_file(self, file_id: int, state: str, errors: list[RowError] | None = None) -> None:
        payload = json.dumps([e.as_dict() for e in errors]) if errors is not None else None
        finished = state in (LOADED, REJECTED)
        self.conn.execute(self.SET_FILE, (state, payload, "now" if finished else None, file_id))

    def add_chunk(self, file_id: int, part: int, chunk: int, rows: int, data: bytes, ids: bytes) -> None:
        self.conn.execute(self.ADD_CHUNK, (file_id, part, chunk, rows, data))
        with self.conn.cursor().copy(self.COPY_IDS) as copy:
            copy.write(ids)

    def chunks(self, file_id: int, part: int) -> list[tuple[int, int]]:
        return [(c, r) for c, r in self.conn.execute(self.CHUNK_NUMBERS, (file_id, part)).fetchall()]

    def chunk(self, file_id: int, part: int, chunk: int) -> bytes:
        row = self.conn.execute(self.CHUNK, (file_id, part, chunk), binary=True).fetchone()
        assert row is not None  # listed by chunks() in the same transaction
        return row[0]

    def drop_staging(self, file_id: int) -> None:
        self.conn.execute(self.DROP_CHUNKS, (file_id,))
        self.conn.execute(self.DROP_IDS, (file_id,))

    def repeated_ids(self, file_id: int, offsets: list[int]) -> list[RowError]:
        errors: list[RowError] = []
        for prediction_id, rows in self.conn.execute(self.REPEATED_IDS, (offsets, file_id, MAX_ERRORS)).fetchall():
            shown = prediction_id if len(prediction_id) <= 60 else prediction_id[:57] + "..."
            message = f"duplicate of row {rows[0]} (prediction_id {shown!r})"
            errors += [RowError(r, "prediction_id", message) for r in rows[1:]]
        return errors


# -- staging encoders ------------------------------------------------------------------------------
# A staged predictions chunk: the COPY stream of predictions and the keys that the one-piece loader writes
# (PredictionRowsEncoder), so that publishing copies the rows straight into the leaves and claims the keys.
# Chunks staged by an earlier version are one COPY stream of the wide staging table (they begin with the COPY
# signature instead).
ROWS_MAGIC = b"SEIA rows 1\n"
_ROWS_HEAD = ">qqi"  # bytes of the rows stream, of the keys (ChunkKeys.pack), number of days


def pack_rows(encoded: list) -> bytes:
    """PredictionRowsEncoder's [rows, keys, ids, days] as one staged chunk (the ids go to file_part_ids)."""
    import struct

    rows, keys, _, days = encoded
    rows_data, keys_data = b"".join(rows), keys.pack()
    head = struct.pack(_ROWS_HEAD, len(rows_data), len(keys_data), len(days)) + struct.pack(f">{len(days)}i", *days)
    return ROWS_MAGIC + head + rows_data + keys_data


def unpack_rows(data: bytes) -> list | None:
    """[rows, keys, None, days] of a chunk staged by ``pack_rows``; None for a chunk in the wide form."""
    import struct

    if not data.startswith(ROWS_MAGIC):
        return None
    view, at = memoryview(data), len(ROWS_MAGIC)
    n_rows, n_keys, n_days = struct.unpack_from(_ROWS_HEAD, view, at)
    at += struct.calcsize(_ROWS_HEAD)
    days = list(struct.unpack_from(f">{n_days}i", view, at))
    at += 4 * n_days
    keys = ChunkKeys.unpack(view[at + n_rows : at + n_rows + n_keys])
    return [[view[at : at + n_rows]], keys, None, days]


class _StagingEncoder:
    """The loader's encoder, plus the chunk's (prediction_id, row_no) as COPY data for ``file_part_ids``."""

    def __init__(self, encoder: CopyEncoder | PredictionRowsEncoder, file_id: int, part: int):
        import numpy as np

        self.encoder = encoder
        self.file_id, self.part = file_id, part
        self.dtype = np.dtype(
            [("count", ">i2"), ("l0", ">i4"), ("file", ">i8"), ("l1", ">i4"), ("part", ">i4")]
            + [("l2", ">i4"), ("row", ">i8"), ("l3", ">i4")]
        )

    def encode(self, arrays: dict):
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(self.encoder, PredictionRowsEncoder):
            data = pack_rows(self.encoder.encode(arrays))
        else:
            data = b"".join(bytes(b) for b in self.encoder.encode(arrays))
        ids = arrays["prediction_id"].cast(pa.binary())
        n = len(ids)
        fixed = np.empty(n, dtype=self.dtype)
        fixed["count"], fixed["l0"], fixed["file"], fixed["l1"], fixed["part"], fixed["l2"] = (
            4,
            8,
            self.file_id,
            4,
            0,
            8,
        )
        fixed["part"] = self.part
        fixed["row"] = arrays["row_no"].to_numpy(zero_copy_only=False)
        fixed["l3"] = pc.binary_length(ids).to_numpy(zero_copy_only=False)
        head = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(self.dtype.itemsize), n, [None, pa.py_buffer(fixed)]
        ).cast(pa.binary())
        rows = pc.binary_join_element_wise(head, ids, b"")
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=n + 1, offset=rows.offset * 4)
        body = memoryview(rows.buffers()[2])[offsets[0] : offsets[n]]
        return data, HEADER + bytes(body) + TRAILER


class _Prefixed:
    """A stream read after ``prefix`` (a CSV part after the file's header line)."""

    def __init__(self, prefix: bytes, stream: S3Stream):
        self.prefix, self.stream = prefix, stream
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            if size is None or size < 0:
                data, self.prefix = self.prefix + self.stream.read(), b""
                return data
            data, self.prefix = self.prefix[:size], self.prefix[size:]
            return data
        return self.stream.read(size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class _ParquetPart:
    """The chunks of some row groups of a Parquet object, read through ranged GETs."""

    def __init__(self, ranged: planning.RangedObject, row_groups: list[int], chunk_rows: int):
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(ranged, pre_buffer=False)
        self.columns = self.file.schema_arrow.names
        self.row_groups, self.chunk_rows = row_groups, chunk_rows
        self.rows_read = 0

    def __iter__(self):
        import pyarrow as pa

        for batch in self.file.iter_batches(batch_size=self.chunk_rows, row_groups=self.row_groups):
            first = self.rows_read + 1
            self.rows_read += batch.num_rows
            yield first, pa.Table.from_batches([batch])


class OnePiece:
    """``PartedLoads.start``'s answer for a file that fits one invocation after all."""


ONE_PIECE = OnePiece()


# -- the steps -------------------------------------------------------------------------------------
class _Abandoned(Exception):
    """The file was decided (rejected) while this part was staging: its rows are not kept."""


@dataclass
class Step:
    """What one part message did: the result to write (the file was decided now), messages to send."""

    result: FileResult | None = None
    send: list[PartMessage] | None = None
    decided: bool = False  # this step rejected or finished the file (else ``result`` is an earlier decision)


class PartedLoads:
    def __init__(self, store: ObjectStore, chunk_rows: int, budget: planning.Budget, sqs: Any, queue_url: str | None):
        self.store = store
        self.chunk_rows = chunk_rows
        self.budget = budget
        self.sqs = sqs
        self.queue_url = queue_url

    def splits(self, location: keys.FileLocation, obj: ObjectCreated) -> bool:
        if not self.queue_url or not planning.splittable(location, obj.size or 0, self.budget):
            return False
        return True

    # -- 1. plan ---------------------------------------------------------------------------------
    def start(
        self, conn: psycopg.Connection, model: Model, location: keys.FileLocation, obj: ObjectCreated, version
    ) -> FileResult | OnePiece | None:
        """Plan the file and send its part messages; a result only when the file was decided before, and
        ``ONE_PIECE`` when its plan has one part (the caller loads it as any small file)."""
        repo = PartsRepository(conn)
        record = repo.find(version)
        conn.commit()
        if record is None:
            loader = FileLoader(conn, model, location, self.chunk_rows)
            assert obj.size is not None  # splits() needs it
            plan = planning.plan(
                self.store,
                location,
                obj,
                obj.size,
                self.budget,
                loader.columns.check_header,
                loader.columns.text_columns,
            )
            if len(plan.parts) == 1:
                return ONE_PIECE
            with conn.transaction():
                file_id = repo.create(version, model.id, location.kind, plan)
            if file_id is not None:
                log.info("file %s: %d bytes in %d parts", obj.key, obj.size, len(plan.parts))
            record = repo.find(version)
            conn.commit()
        assert record is not None  # created just now, or found
        if record.state in (LOADED, REJECTED):
            return self._result(repo, record)
        parts = repo.parts(record.id)
        conn.commit()
        step = STAGE if record.state == "staging" else PUBLISH
        wanted = "pending" if step == STAGE else "staged"
        self.send([PartMessage(obj, record.id, p.part, step) for p in parts if p.state == wanted])
        return None

    def send(self, messages: list[PartMessage]) -> None:
        if not messages:
            return
        assert self.queue_url is not None  # splits() needs it
        outgoing = [Outgoing(m.body(), tenant_group(m.obj.key)) for m in messages]
        try:
            send_all(self.sqs, self.queue_url, outgoing)
        except Exception as exc:  # noqa: BLE001 - SQS refused: this message comes back and sends them again
            raise TransientFailure(f"SQS: {type(exc).__name__}") from None

    # -- 2.-4. a part message ------------------------------------------------------------------
    def handle(self, conn: psycopg.Connection, model: Model, location: keys.FileLocation, message: PartMessage) -> Step:
        repo = PartsRepository(conn)
        record = repo.file(message.file_id)
        conn.commit()
        if record is None or record.model_id != model.id or record.key != message.obj.key:
            log.info("part %d of %s: its file is no longer planned; nothing to do", message.part, message.obj.key)
            return Step()
        if message.step == STAGE:
            self._stage(conn, repo, model, location, record, message)
            return self._decide(conn, repo, message)
        self._publish(conn, repo, model, location, record, message)
        return self._finish(conn, repo, model, location, message)

    def _stage(self, conn, repo: PartsRepository, model, location, record: FileRecord, message: PartMessage) -> None:
        if record.state != "staging":
            return
        started = time.monotonic()
        try:
            with conn.transaction():
                part = repo.lock_part(record.id, message.part)
                if part is None or part.state != "pending":
                    return
                earlier_bad = any(p.state == "rejected" and p.part < part.part for p in repo.parts(record.id))
                if earlier_bad:
                    repo.set_part(record.id, part.part, "skipped", None, None)
                    return
                try:
                    with conn.transaction():
                        rows = self._stage_rows(conn, repo, model, location, record, part, message.obj)
                        repo.set_part(record.id, part.part, "staged", rows, None)
                        self._still_staging(repo, record.id)
                    state, count = "staged", rows
                except FileRejected as exc:
                    repo.set_part(record.id, part.part, "rejected", None, exc.errors)
                    self._still_staging(repo, record.id)
                    state, count = "rejected", 0
        except _Abandoned:
            log.info("part %d of %s: the file was rejected meanwhile", message.part, message.obj.key)
            return
        log.info(
            "file %s part %d/%d: %s, %d rows in %.2f s",
            message.obj.key,
            message.part + 1,
            record.parts,
            state,
            count,
            time.monotonic() - started,
        )

    @staticmethod
    def _still_staging(repo: PartsRepository, file_id: int) -> None:
        """Taken just before the part commits: a file rejected meanwhile keeps none of this part."""
        current = repo.file(file_id, lock="SHARE")
        if current is None or current.state != "staging":
            raise _Abandoned()

    def _stage_rows(self, conn, repo: PartsRepository, model, location, record: FileRecord, part: PartRecord, obj):
        loader = FileLoader(conn, model, location, self.chunk_rows)
        names = list(record.columns)
        layout = loader.columns.layout(names)
        inner: CopyEncoder | PredictionRowsEncoder = CopyEncoder(layout)
        if location.kind == PREDICTIONS:
            inner = PredictionRowsEncoder(layout, model.id)
        encoder = _StagingEncoder(inner, record.id, part.part)
        reader, source, failure = self._open(location, obj, part, loader.chunk_rows, loader.columns, names)
        stored = chunks = 0
        try:
            pipeline = _pipeline(reader, names, ChunkValidator(layout), cast(CopyEncoder, encoder), failure)
            with closing(pipeline) as encoded:
                for rows, (data, ids) in encoded:
                    repo.add_chunk(record.id, part.part, chunks, rows, data, ids)
                    stored += rows
                    chunks += 1
        finally:
            if source is not None:
                source.close()
        return stored

    def _open(self, location, obj: ObjectCreated, part: PartRecord, chunk_rows: int, columns, names: list[str]):
        """(reader, stream to close, its failure) for one part; ``names``: the file's columns, as planned."""
        from seia_files.loader import _reading_error

        assert obj.size is not None  # set on every part message
        if location.format == "parquet":
            ranged = planning.RangedObject(self.store, obj, obj.size)
            try:
                return _ParquetPart(ranged, list(part.row_groups or []), chunk_rows), None, lambda: ranged.failure
            except Exception as exc:  # noqa: BLE001 - a read failure is S3's or the file's
                raise _reading_error(exc, lambda: ranged.failure, 0) from None
        stream = self._range(obj, part.start_byte or 0, part.end_byte or obj.size)
        source: S3Stream | _Prefixed = stream
        if location.format == "csv" and part.part > 0:
            header = planning.RangedObject(self.store, obj, obj.size).line_at(0, planning.HEADER_LIMIT) or b""
            source = _Prefixed(header, stream)
        try:
            # JSON Lines: the text columns of the plan (a segment field appended since is no column of this file)
            text_columns = [c for c in columns.text_columns if c in names]
            reader = formats.open_chunks(
                location.format, None, source, columns.required + columns.optional, chunk_rows, text_columns
            )
        except FileRejected as exc:
            stream.close()
            if stream.failure is not None:
                raise stream.failure from None
            if location.format == "jsonl" and any("empty" in e.message for e in exc.errors):
                return iter(()), None, lambda: None  # a part of blank lines
            raise
        except Exception as exc:  # noqa: BLE001 - a read failure is S3's or the file's
            stream.close()
            raise _reading_error(exc, lambda: stream.failure, 0) from None
        return reader, stream, lambda: stream.failure

    def _range(self, obj: ObjectCreated, start: int, end: int) -> S3Stream:
        kwargs = {"Bucket": obj.bucket, "Key": obj.key, "Range": f"bytes={start}-{end - 1}"}
        if obj.version_id:
            kwargs["VersionId"] = obj.version_id
        elif obj.etag:
            kwargs["IfMatch"] = f'"{obj.etag}"'
        try:
            return S3Stream(self.store.client.get_object(**kwargs)["Body"])
        except Exception as exc:  # noqa: BLE001 - classify() sorts botocore's errors
            raise classify(exc) from None

    def _decide(self, conn, repo: PartsRepository, message: PartMessage) -> Step:
        """After a part: reject the file, or move it to publishing, when its parts allow."""
        with conn.transaction():
            record = repo.file(message.file_id, lock="UPDATE")
            if record is None:
                return Step()
            if record.state in (LOADED, REJECTED):
                return Step(result=self._result(repo, record))
            parts = repo.parts(record.id)
            if record.state == "publishing":
                return Step(
                    send=[PartMessage(message.obj, record.id, p.part, PUBLISH) for p in parts if p.state == "staged"]
                )
            offsets = _offsets(parts)
            first_bad = next((p for p in parts if p.state == "rejected"), None)
            if first_bad is not None:
                if any(p.state != "staged" for p in parts[: first_bad.part]):
                    return Step()  # an earlier part may hold an earlier bad row
                errors = [_shifted(e, offsets[first_bad.part]) for e in first_bad.errors or []]
                return Step(result=self._reject(repo, record, errors), decided=True)
            if any(p.state != "staged" for p in parts):
                return Step()
            if offsets[-1] == 0:
                no_rows = [RowError(None, None, "the file has no data rows")]
                return Step(result=self._reject(repo, record, no_rows), decided=True)
            repeated = repo.repeated_ids(record.id, offsets)
            if repeated:
                return Step(result=self._reject(repo, record, repeated), decided=True)
            repo.set_file(record.id, "publishing")
            log.info("file %s: %d parts staged, %d rows; publishing", message.obj.key, len(parts), offsets[-1])
            return Step(send=[PartMessage(message.obj, record.id, p.part, PUBLISH) for p in parts])

    def _reject(self, repo: PartsRepository, record: FileRecord, errors: list[RowError]) -> FileResult:
        errors = FileRejected(errors).errors  # sorted and capped as a one-piece load's
        repo.set_file(record.id, REJECTED, errors)
        repo.drop_staging(record.id)
        return FileResult.rejected(errors)

    def _publish(self, conn, repo: PartsRepository, model, location, record: FileRecord, message: PartMessage) -> None:
        if record.state != "publishing":
            return
        started = time.monotonic()
        with conn.transaction():
            part = repo.lock_part(record.id, message.part)
            if part is None or part.state != "staged":
                return
            loader = FileLoader(conn, model, location, self.chunk_rows)
            layout = loader.columns.layout(list(record.columns))
            staging = FileStagingRepository(conn, layout)
            if staging.direct:
                staging.use_encoder(PredictionRowsEncoder(layout, model.id))
            staging.create()
            stored = conflicts = unmatched = expired = 0
            for chunk, rows in repo.chunks(record.id, part.part):
                data = repo.chunk(record.id, part.part, chunk)
                direct = unpack_rows(data) if staging.direct else None
                if direct is not None:  # COPY streams of predictions itself: copied straight into the leaves
                    written = staging.write_chunk(model.id, direct, rows)
                elif staging.direct:  # staged in the wide form (by an earlier version)
                    written = staging.write_staged_predictions(model.id, [data], rows)
                else:
                    written = staging.write_chunk(model.id, [data], rows)
                stored += written.stored
                conflicts += written.conflicts
                unmatched += written.unmatched
                expired += written.expired
            if staging.direct:  # the keys of the rows stored: claimed now, sorted
                written = staging.finish(model.id)
                stored += written.stored
                conflicts += written.conflicts
            is_gt = location.kind == GROUND_TRUTHS
            repo.published(
                record.id, part.part, stored, conflicts, unmatched if is_gt else None, expired if is_gt else None
            )
        log.info(
            "file %s part %d/%d: published, %d rows stored in %.2f s",
            message.obj.key,
            message.part + 1,
            record.parts,
            stored,
            time.monotonic() - started,
        )

    def _finish(self, conn, repo: PartsRepository, model, location, message: PartMessage) -> Step:
        """After a part is published: the last one records the file and writes its result."""
        with conn.transaction():
            record = repo.file(message.file_id, lock="UPDATE")
            if record is None:
                return Step()
            if record.state in (LOADED, REJECTED):
                return Step(result=self._result(repo, record))
            parts = repo.parts(record.id)
            if any(p.state != "published" for p in parts):
                return Step()
            rows = sum(p.stored or 0 for p in parts)
            duplicates = sum(p.duplicates or 0 for p in parts)
            unmatched = sum(p.unmatched or 0 for p in parts) if location.kind == GROUND_TRUTHS else None
            expired = sum(p.expired or 0 for p in parts) if location.kind == GROUND_TRUTHS else None
            version = ObjectVersion(
                message.obj.bucket, message.obj.key, message.obj.etag or "", message.obj.version_id or ""
            )
            ingest_log = IngestLogRepository(conn)
            if ingest_log.claim(version, model.id, location.kind):
                ingest_log.finish(version, rows, duplicates, unmatched, expired)
            if location.kind == REFERENCE:
                FileStagingRepository(
                    conn, FileLoader(conn, model, location).columns.layout(list(record.columns))
                ).bump_reference(model.id)
            repo.set_file(record.id, LOADED)
            repo.drop_staging(record.id)
            telemetry.count(telemetry.RECORDS_ACCEPTED, rows)
            return Step(result=FileResult(LOADED, rows, duplicates, unmatched, expired), decided=True)

    def _result(self, repo: PartsRepository, record: FileRecord) -> FileResult:
        if record.state == REJECTED:
            return FileResult.rejected(RowError(e["row"], e["column"], e["message"]) for e in record.errors or [])
        parts = repo.parts(record.id)
        labels = record.kind == GROUND_TRUTHS
        unmatched = sum(p.unmatched or 0 for p in parts) if labels else None
        expired = sum(p.expired or 0 for p in parts) if labels else None
        stored, duplicates = sum(p.stored or 0 for p in parts), sum(p.duplicates or 0 for p in parts)
        return FileResult(LOADED, stored, duplicates, unmatched, expired)


def _offsets(parts: list[PartRecord]) -> list[int]:
    """Rows before each part, then the total (``None`` rows count as 0: only staged parts are summed)."""
    offsets = [0]
    for p in parts:
        offsets.append(offsets[-1] + (p.rows or 0))
    return offsets


def _shifted(error: dict, offset: int) -> RowError:
    row = error["row"]
    return RowError(row + offset if row is not None else None, error["column"], error["message"])
