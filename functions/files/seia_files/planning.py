"""Whether a file is loaded in one piece or in parts, and where its parts begin and end (docs/bulk-files.md).

A file larger than ``SEIA_FILE_PART_BYTES`` (its object size) is split so that each part is at most about
that many bytes of the object (and, in Parquet, whose footer counts rows, at most ``SEIA_FILE_PART_ROWS``
rows), and each part is read with ranged GETs alone:

* CSV, JSON Lines: a boundary is the first line break at or after each multiple of the budget, found by a
  ranged read of the bytes there. A part is ``[start, end)`` of whole lines; every CSV part but the first
  is read with the file's header line put before it. (A CSV whose quoted values hold line breaks cannot
  be cut at line breaks; such a file must stay within one part's budget.)
* Parquet: whole row groups, grouped while they stay within the budget (a larger row group is a part of
  its own), read through ``RangedObject`` (the footer and the part's column chunks only). A Parquet file
  over 64 MiB has its footer read even when it is within the byte budget, for its row count.
* gzip files cannot be entered in the middle: they are loaded in one piece whatever their size.

The file's columns are fixed here, once, from its header (CSV), schema (Parquet) or first block (JSON
Lines, as the one-piece loader does), and checked: a bad header rejects the file before any part runs.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

from seia_files.errors import FileRejected
from seia_files.events import ObjectCreated
from seia_files.keys import FileLocation
from seia_files.storage import ObjectStore, classify

PART_BYTES = 256 << 20  # a part's share of the object; docs/bulk-files.md "Files in parts" says why
PART_ROWS = 1_000_000  # Parquet: rows of a part at most (row counts are in its footer)
PARQUET_PROBE_BYTES = 64 << 20  # Parquet objects larger than this have their footer read to decide
BOUNDARY_PROBE = 64 << 10  # read at each cut to find the next line break
HEADER_LIMIT = 1 << 20  # a CSV header line longer than this: the file is not split
READ_AHEAD = 8 << 20  # RangedObject: bytes fetched per GET at least


@dataclass(frozen=True)
class Budget:
    """What one invocation loads at most: bytes of the object, and rows where the file says how many (Parquet)."""

    bytes: int = PART_BYTES
    rows: int = PART_ROWS

    @classmethod
    def from_environment(cls) -> Budget:
        """``SEIA_FILE_PART_BYTES`` and ``SEIA_FILE_PART_ROWS`` (tests and the benchmark shrink them)."""
        return cls(
            int(os.environ.get("SEIA_FILE_PART_BYTES") or PART_BYTES),
            int(os.environ.get("SEIA_FILE_PART_ROWS") or PART_ROWS),
        )


@dataclass(frozen=True)
class PartSpec:
    start_byte: int | None = None  # CSV, JSONL
    end_byte: int | None = None
    row_groups: tuple[int, ...] | None = None  # Parquet


@dataclass(frozen=True)
class Plan:
    columns: list[str]  # the file's column names, in file order
    parts: list[PartSpec]
    header: bytes = b""  # CSV: the header line, line break included


def splittable(location: FileLocation, size: int | None, budget: Budget) -> bool:
    """Whether to plan the file (a plan of one part is loaded in one piece)."""
    if location.compression is not None or size is None:
        return False
    if location.format == "parquet":
        return size > min(budget.bytes, PARQUET_PROBE_BYTES)
    return size > budget.bytes


def plan(
    store: ObjectStore,
    location: FileLocation,
    obj: ObjectCreated,
    size: int,
    budget: Budget,
    checker,
    text_columns: Sequence[str] = (),
) -> Plan:
    """The parts of a file; ``checker(names)`` checks the file's columns (``FileColumns.check_header``).
    ``text_columns``: those JSON Lines must give as strings (``FileColumns.text_columns``), read as the parts will
    read them (each is a column of every block, null where its records leave it out: segment fields)."""
    ranged = RangedObject(store, obj, size)
    if location.format == "parquet":
        return _plan_parquet(ranged, budget, checker)
    if location.format == "csv":
        header = ranged.line_at(0, HEADER_LIMIT)
        if header is None:
            raise FileRejected.file("the file's header line is longer than 1 MiB")
        names = _csv_columns(header)
        checker(names)
        cuts = _line_cuts(ranged, len(header), size, budget.bytes)
        return Plan(names, _ranges([0, *cuts, size]), header)
    if location.format == "jsonl":
        names = _jsonl_columns(ranged, size, text_columns)
        checker(names)
        return Plan(names, _ranges([0, *_line_cuts(ranged, 0, size, budget.bytes), size]))
    raise ValueError(f"unknown format {location.format!r}")


def _ranges(bounds: list[int]) -> list[PartSpec]:
    unique = sorted(set(bounds))
    return [PartSpec(start_byte=a, end_byte=b) for a, b in zip(unique, unique[1:], strict=False) if b > a]


def _line_cuts(ranged: RangedObject, first: int, size: int, budget: int) -> list[int]:
    """The first byte after the first line break at or after each multiple of ``budget`` (past ``first``)."""
    cuts: list[int] = []
    position = max(budget, first)
    while position < size:
        if cuts and position < cuts[-1]:
            position = cuts[-1]
        line_end = ranged.line_end(position)
        if line_end is None or line_end >= size:
            break
        cuts.append(line_end)
        position = max(line_end, position) + budget
    return cuts


def _csv_columns(header: bytes) -> list[str]:
    from seia_files import formats

    reader = formats.open_chunks("csv", None, io.BytesIO(header), [], 1)
    return list(reader.columns)


def _jsonl_columns(ranged: RangedObject, size: int, text_columns: Sequence[str] = ()) -> list[str]:
    from seia_files import formats

    data = ranged.read_range(0, min(size, formats.JSONL_BLOCK_BYTES))
    if len(data) < size:
        cut = data.rfind(b"\n") + 1
        data = data[:cut] if cut else data
    reader = formats.open_chunks("jsonl", None, io.BytesIO(data), [], 1, text_columns)
    assert reader.columns is not None  # set when the first block has a record
    return list(reader.columns)


def _plan_parquet(ranged: RangedObject, budget: Budget, checker) -> Plan:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(ranged, pre_buffer=False).metadata
    except (pa.ArrowInvalid, OSError) as exc:
        if ranged.failure is not None:
            raise ranged.failure from None
        raise FileRejected.file(f"not a Parquet file: {str(exc).splitlines()[0][:300]}") from None
    names = meta.schema.to_arrow_schema().names
    checker(names)
    parts: list[PartSpec] = []
    group: list[int] = []
    group_bytes = group_rows = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        size = sum(rg.column(c).total_compressed_size for c in range(rg.num_columns))
        if group and (group_bytes + size > budget.bytes or group_rows + rg.num_rows > budget.rows):
            parts.append(PartSpec(row_groups=tuple(group)))
            group, group_bytes, group_rows = [], 0, 0
        group.append(i)
        group_bytes += size
        group_rows += rg.num_rows
    parts.append(PartSpec(row_groups=tuple(group)))
    return Plan(names, parts)


class RangedObject:
    """A read-only, seekable file object over one object version, read with ranged GETs (``READ_AHEAD`` each).

    pyarrow reads Parquet from it (footer, then the column chunks it needs); the planner probes it for line
    breaks. An S3 failure is kept in ``failure`` (pyarrow may wrap the exception it sees).
    """

    def __init__(self, store: ObjectStore, obj: ObjectCreated, size: int):
        self.store, self.obj, self.size = store, obj, size
        self._position = 0
        self._buffer = b""
        self._buffer_at = 0
        self.failure: BaseException | None = None
        self.closed = False

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` (fewer at the end of the object)."""
        end = min(end, self.size)
        if start >= end:
            return b""
        kwargs = {"Bucket": self.obj.bucket, "Key": self.obj.key, "Range": f"bytes={start}-{end - 1}"}
        if self.obj.version_id:
            kwargs["VersionId"] = self.obj.version_id
        elif self.obj.etag:
            kwargs["IfMatch"] = f'"{self.obj.etag}"'
        try:
            body = self.store.client.get_object(**kwargs)["Body"]
            try:
                return body.read()
            finally:
                body.close()
        except Exception as exc:  # noqa: BLE001 - classify() sorts botocore's errors
            self.failure = classify(exc)
            raise self.failure from None

    def line_end(self, position: int) -> int | None:
        """The offset just past the first line break at or after ``position``; None when there is none."""
        while position < self.size:
            data = self.read_range(position, position + BOUNDARY_PROBE)
            found = data.find(b"\n")
            if found >= 0:
                return position + found + 1
            position += len(data)
        return None

    def line_at(self, position: int, limit: int) -> bytes | None:
        """The line starting at ``position``, its line break included (the rest of the object if none)."""
        data = self.read_range(position, position + limit)
        found = data.find(b"\n")
        if found >= 0:
            return data[: found + 1]
        return data + b"\n" if len(data) < limit else None

    # -- the file object pyarrow uses ------------------------------------------------------------
    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._position
        start, end = self._position, min(self._position + size, self.size)
        if not (self._buffer_at <= start and end <= self._buffer_at + len(self._buffer)):
            self._buffer = self.read_range(start, max(end, start + READ_AHEAD))
            self._buffer_at = start
        data = self._buffer[start - self._buffer_at : end - self._buffer_at]
        self._position = end
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self._buffer = b""
