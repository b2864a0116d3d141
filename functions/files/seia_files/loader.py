"""One file into the tenant's database, chunk by chunk, in one transaction.

A reader thread parses, checks and encodes the next chunk while the database stores the current
one (pyarrow and numpy release the GIL; so does psycopg while it waits on the server). At most
``QUEUE_CHUNKS`` encoded chunks wait between them, so memory does not grow with the file.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

import psycopg

from seia.schema import Model
from seia_files import formats
from seia_files.columns import GROUND_TRUTHS, REFERENCE, ChunkValidator, FileColumns
from seia_files.encoding import CopyEncoder, PredictionRowsEncoder
from seia_files.errors import FileRejected, RowError, TransientFailure
from seia_files.keys import FileLocation
from seia_files.repository import FileStagingRepository, IngestLogRepository, ObjectVersion

log = logging.getLogger(__name__)

CHUNK_ROWS = 65_536
CHUNK_BYTES = 32 << 20  # wide models get fewer rows per chunk
QUEUE_CHUNKS = 2


@dataclass(frozen=True)
class LoadResult:
    rows: int  # stored now
    duplicates: int  # already stored (predictions, reference)
    unmatched: int | None  # ground truths without a stored prediction
    expired: int | None  # ground truths whose prediction is past the retention horizon (not stored)
    read: int  # data rows in the file


class FileLoader:
    def __init__(self, conn: psycopg.Connection, model: Model, location: FileLocation, chunk_rows: int = CHUNK_ROWS):
        self.conn = conn
        self.model = model
        self.location = location
        row_bytes = 12 * (len(model.numeric) + 4) + 24 * (len(model.categorical) + len(model.segments) + 3)
        self.chunk_rows = max(1, min(chunk_rows, CHUNK_BYTES // row_bytes))
        self.columns = FileColumns(model, location.kind)

    def load(self, obj: ObjectVersion, source, source_failure: Callable[[], BaseException | None]) -> LoadResult | None:
        """Load the file; None when another delivery of the same object loaded it meanwhile.

        ``source`` is a stream (CSV, JSONL) or a local path (Parquet); ``source_failure`` tells
        whether an error while reading came from S3 rather than from the file.
        """
        started = time.monotonic()
        try:
            reader = formats.open_chunks(
                self.location.format,
                self.location.compression,
                source,
                self.columns.required + self.columns.optional,
                self.chunk_rows,
                self.columns.text_columns,
            )
        except FileRejected:
            raise
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes a classified error
            raise _reading_error(exc, source_failure, 0) from None
        names = self.columns.check_header(reader.columns)
        layout = self.columns.layout(names)
        validator = ChunkValidator(layout)
        staging = FileStagingRepository(self.conn, layout)
        encoder: CopyEncoder | PredictionRowsEncoder = CopyEncoder(layout)
        if staging.direct:
            encoder = PredictionRowsEncoder(layout, self.model.id)
            staging.use_encoder(encoder)
        ingest_log = IngestLogRepository(self.conn)
        stored = conflicts = unmatched = expired = read = chunks = 0

        with self.conn.transaction():
            if not ingest_log.claim(obj, self.model.id, self.location.kind):
                return None
            staging.create()
            with closing(_pipeline(reader, names, validator, encoder, source_failure)) as encoded:
                for rows, buffers in encoded:
                    written = staging.write_chunk(self.model.id, buffers, rows)
                    stored += written.stored
                    conflicts += written.conflicts
                    unmatched += written.unmatched
                    expired += written.expired
                    read += rows
                    chunks += 1
                    if chunks > 1 or rows >= self.chunk_rows:
                        elapsed = time.monotonic() - started
                        log.info(
                            "file %s: %d rows read, %d stored (%.0f rows/s)",
                            self.location.key,
                            read,
                            stored,
                            read / elapsed if elapsed else 0.0,
                        )
            if staging.direct:  # the keys of the rows stored: claimed now, sorted
                written = staging.finish(self.model.id)
                stored += written.stored
                conflicts += written.conflicts
            if read == 0:
                raise FileRejected.file("the file has no data rows")
            if conflicts or self.location.kind == REFERENCE:
                staging.check_no_duplicates_in_file()
            if self.location.kind == REFERENCE:
                staging.bump_reference(self.model.id)
            is_gt = self.location.kind == GROUND_TRUTHS
            result = LoadResult(
                rows=stored,
                duplicates=conflicts,
                unmatched=unmatched if is_gt else None,
                expired=expired if is_gt else None,
                read=read,
            )
            ingest_log.finish(obj, result.rows, result.duplicates, result.unmatched, result.expired)
        return result


def _reading_error(exc: BaseException, source_failure, rows_read: int) -> BaseException:
    """What an exception raised while reading means: S3 trouble (transient) or a broken file."""
    failure = source_failure()
    if failure is not None:
        return failure
    if isinstance(exc, (FileRejected, TransientFailure)):
        return exc
    import pyarrow as pa

    if isinstance(exc, (pa.ArrowException, OSError, EOFError, ValueError)):
        text = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        where = f" after data row {rows_read}" if rows_read else ""
        return FileRejected(RowError(None, None, f"the file cannot be read{where}: {text}"))
    return exc


def _pipeline(reader, names, validator: ChunkValidator, encoder, source_failure):
    """Yields (rows, COPY buffers) per chunk; parsing runs one or two chunks ahead in a thread."""
    items: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    stop = threading.Event()
    allowed = set(names)
    # Feature columns the file's first block lacked (added or removed by PATCH: optional): a later JSONL block may
    # bring them, and the layout has their staging columns whatever the header (FileColumns.layout).
    features = set(validator.layout.numeric + validator.layout.categorical)
    later = {c.source for c in validator.layout.columns if c.name in features and c.source} - allowed

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for first_row, table in reader:
                if stop.is_set():
                    return
                table = _conform(table, names, allowed, later)
                arrays = validator.validate(table, first_row)
                if not put((table.num_rows, encoder.encode(arrays))):
                    return
            put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which decides what it means
            put(exc)

    thread = threading.Thread(target=produce, name="seia-file-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise _reading_error(item, source_failure, getattr(reader, "rows_read", 0))
            yield item
    finally:
        stop.set()
        thread.join()


def _conform(table, names: list[str], allowed: set[str], later: frozenset[str] | set[str] = frozenset()):
    """A JSONL chunk with the file's columns: keys absent from every record of it are NULL; ``later`` optional
    feature columns the file's first block lacked are kept when this chunk has them."""
    present = table.schema.names
    if present == names:
        return table
    import pyarrow as pa

    unknown = [n for n in present if n not in allowed and n not in later]
    if unknown:
        raise FileRejected([RowError(None, n[:64], "unknown column") for n in unknown])
    keep = names + [n for n in present if n in later]
    columns = [table.column(n) if n in present else pa.nulls(table.num_rows) for n in keep]
    return pa.table(columns, names=keep)
