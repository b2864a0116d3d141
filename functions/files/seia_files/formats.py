"""CSV, JSONL and Parquet, read in chunks with pyarrow (imported lazily: only this path needs it).

* CSV: pyarrow's streaming reader over the (optionally gzip-decompressed) object stream, every
  expected column read as text so that a bad value is reported by the checks, with its row.
* JSONL: blocks of whole lines, each parsed with ``pyarrow.json``; keys missing from a record are NULL.
* Parquet: needs random access, so it is read from a local file (the caller spools the object to
  /tmp), one batch of row groups' rows at a time.

``chunks()`` yields ``(first_row, table)`` with ``first_row`` the 1-based data row of the table's
first row, tables of about ``chunk_rows`` rows. Problems with the file itself raise ``FileRejected``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from seia_files.errors import FileRejected, RowError

CSV_BLOCK_BYTES = 1 << 20
JSONL_BLOCK_BYTES = 4 << 20
_JSON_ROW = re.compile(r" in row (\d+)")
# pyarrow's JSON parser recurses once per nesting level and crashes the process (SIGSEGV) somewhere
# past 10,000 levels; records are flat, so anything nested deeper than this is refused before it.
JSONL_MAX_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_BRACKET_OR_NEWLINE = bytes(b for b in range(256) if b not in b"[]{}\n")
_EMPTY_PAIR = re.compile(rb"\[\]|\{\}")


def _message(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _decompressed(stream, compression: str | None):
    import pyarrow as pa

    source = pa.PythonFile(stream, mode="r")
    return pa.CompressedInputStream(source, compression) if compression else source


def _too_deep(block: bytes, limit: int = JSONL_MAX_DEPTH) -> bool:
    """Whether the block's brackets (outside strings) nest deeper than ``limit`` or do not balance.

    Each pass removes the innermost empty pairs; what is left after ``limit`` passes is deeper.
    """
    # Fast path: a line with at most `limit` brackets, counted even inside strings, cannot be deeper.
    lines = block.translate(None, _NOT_BRACKET_OR_NEWLINE).split(b"\n")
    if max(map(len, lines)) <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", block).translate(None, _NOT_BRACKET)
    for _ in range(limit):
        if not brackets:
            return False
        brackets, removed = _EMPTY_PAIR.subn(b"", brackets)
        if not removed:
            break
    return bool(brackets)


_CSV_ROW = re.compile(r"In CSV column #(\d+): Row #(\d+)")
_CSV_PARSE_ROW = re.compile(r"CSV parse error: Row #(\d+)")


class CsvChunks:
    def __init__(self, stream, compression: str | None, expected: list[str], chunk_rows: int):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        self.invalid: list[RowError] = []
        self.chunk_rows = chunk_rows
        self.rows_read = 0
        try:
            self.reader = pcsv.open_csv(
                _decompressed(stream, compression),
                # Single-threaded parsing is what gives rows their numbers in invalid_row_handler.
                read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
                parse_options=pcsv.ParseOptions(invalid_row_handler=self._invalid_row),
                convert_options=pcsv.ConvertOptions(
                    column_types={name: pa.string() for name in expected},
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                raise FileRejected.file("the file is empty") from None
            located = _CSV_ROW.search(str(exc))
            if located and "invalid UTF8" in str(exc):
                # pyarrow counts the header as row 1 and columns from 0; the row is what the user can find
                row = int(located.group(2)) - 1
                raise FileRejected(
                    RowError(row, None, f"column {int(located.group(1)) + 1} is not UTF-8 text")
                ) from None
            parse = _CSV_PARSE_ROW.search(str(exc))
            if parse:
                # a row the parser could not split (raised rather than handed to _invalid_row, e.g. when the
                # row's text is not UTF-8): the row is named, as for any other row with the wrong width
                raise FileRejected(
                    RowError(int(parse.group(1)) - 1, None, f"not a readable CSV row: {_message(exc)}")
                ) from None
            raise FileRejected.file(f"not a readable CSV file: {_message(exc)}") from None
        self.columns = self.reader.schema.names

    def _invalid_row(self, row) -> str:
        line = row.number - 1 if row.number is not None else None  # number counts the header
        self.invalid.append(RowError(line, None, f"expected {row.expected_columns} values, found {row.actual_columns}"))
        return "skip"

    def __iter__(self) -> Iterator:
        import pyarrow as pa

        pending, pending_rows, first = [], 0, 1
        for batch in self.reader:
            if self.invalid:
                raise FileRejected(self.invalid)
            pending.append(batch)
            pending_rows += batch.num_rows
            self.rows_read += batch.num_rows
            if pending_rows >= self.chunk_rows:
                yield first, pa.Table.from_batches(pending)
                first += pending_rows
                pending, pending_rows = [], 0
        if self.invalid:
            raise FileRejected(self.invalid)
        if pending_rows:
            yield first, pa.Table.from_batches(pending)


class JsonlChunks:
    def __init__(self, stream, compression: str | None, text_columns: list[str]):
        import pyarrow as pa
        import pyarrow.json as pj

        # The JSON reader would turn date-like strings into timestamps (and drop their offset).
        self.parse_options = pj.ParseOptions(
            explicit_schema=pa.schema([(name, pa.string()) for name in text_columns]), unexpected_field_behavior="infer"
        )
        self.source = _decompressed(stream, compression)
        self.rows_read = 0
        self.columns: list[str] | None = None
        self._first = self._next_table()
        if self._first is None:
            raise FileRejected.file("the file is empty")
        self.columns = self._first.schema.names

    def _blocks(self) -> Iterator[bytes]:
        carry = b""
        while True:
            data = self.source.read(JSONL_BLOCK_BYTES)
            if not data:
                break
            data = carry + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            yield data[:cut]
        if carry.strip():
            yield carry + b"\n"

    def _next_table(self):
        import pyarrow as pa
        import pyarrow.json as pj

        if not hasattr(self, "_block_iter"):
            self._block_iter = self._blocks()
        for block in self._block_iter:
            if not block.strip():
                continue
            if _too_deep(block):
                raise FileRejected(
                    RowError(
                        None,
                        None,
                        "not valid JSON Lines: values nested deeper than "
                        f"{JSONL_MAX_DEPTH} levels, or brackets that do not balance",
                    )
                )
            try:
                table = pj.read_json(
                    pa.BufferReader(block),
                    parse_options=self.parse_options,
                    read_options=pj.ReadOptions(use_threads=False, block_size=len(block) + 1),
                )
            except pa.ArrowInvalid as exc:
                found = _JSON_ROW.search(str(exc))
                row = self.rows_read + int(found.group(1)) + 1 if found else None
                raise FileRejected(RowError(row, None, f"not valid JSON Lines: {_message(exc)}")) from None
            if table.num_rows:
                return table
        return None

    def __iter__(self) -> Iterator:
        table = self._first
        while table is not None:
            first = self.rows_read + 1
            self.rows_read += table.num_rows
            yield first, table
            table = self._next_table()


class ParquetChunks:
    def __init__(self, path: str, chunk_rows: int):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.chunk_rows = chunk_rows
        self.rows_read = 0
        try:
            # pre_buffer=False: read a row group's column chunks as they are decoded, not all at once.
            self.file = pq.ParquetFile(path, pre_buffer=False)
        except (pa.ArrowInvalid, OSError) as exc:
            if "size is 0" in str(exc) or "empty" in str(exc).lower():
                raise FileRejected.file("the file is empty") from None
            raise FileRejected.file(f"not a Parquet file: {_message(exc)}") from None
        self.columns = self.file.schema_arrow.names

    def __iter__(self) -> Iterator:
        import pyarrow as pa

        first = 1
        for batch in self.file.iter_batches(batch_size=self.chunk_rows):
            self.rows_read += batch.num_rows
            yield first, pa.Table.from_batches([batch])
            first += batch.num_rows


def open_chunks(
    fmt: str, compression: str | None, source, expected: list[str], chunk_rows: int, text_columns: Sequence[str] = ()
):
    """A chunk iterable with ``.columns`` (the file's column names) and ``.rows_read``.

    ``source`` is a binary stream for CSV and JSONL, a local path for Parquet. ``expected`` are the
    column names the model allows; ``text_columns`` those JSONL must give as strings.
    """
    if fmt == "csv":
        return CsvChunks(source, compression, expected, chunk_rows)
    if fmt == "jsonl":
        return JsonlChunks(source, compression, list(text_columns))
    if fmt == "parquet":
        return ParquetChunks(source, chunk_rows)
    raise ValueError(f"unknown format {fmt!r}")
