"""Validated chunks as PostgreSQL binary ``COPY`` data, built column-wise (numpy and pyarrow, no row loop).

Binary COPY spares the server from parsing text numbers, which is where a text COPY of a wide file
spends its time. A tuple is ``int16 field count`` then, per field, ``int32 length`` and the bytes
(length -1 for NULL). Fixed-width fields (int8, float8, timestamptz: 8 bytes, big-endian) never
hold NULL here (sentinels, see ``columns``), so the fixed part of every tuple has the same width
and is one numpy structured array. Text fields are appended with ``binary_join_element_wise``.
"""

from __future__ import annotations

from seia_files.columns import StagingLayout

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_NULL_LENGTH = b"\xff\xff\xff\xff"


class CopyEncoder:
    def __init__(self, layout: StagingLayout):
        import numpy as np

        self.layout = layout
        fields = [("count", ">i2")]
        for i, column in enumerate(layout.fixed):
            fields += [(f"l{i}", ">i4"), (f"v{i}", ">f8" if column.pg_type == "float8" else ">i8")]
        self.dtype = np.dtype(fields)
        self.n_fields = len(layout.columns)

    def encode(self, arrays: dict) -> list:
        """One complete COPY stream for the chunk's staging arrays, as buffers to write in order."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(arrays["row_no"])
        fixed = np.empty(n, dtype=self.dtype)
        fixed["count"] = self.n_fields
        for i, column in enumerate(self.layout.fixed):
            fixed[f"l{i}"] = 8
            fixed[f"v{i}"] = arrays[column.name].to_numpy(zero_copy_only=False)
        width = self.dtype.itemsize
        parts = [_binary(width, n, fixed)]
        for column in self.layout.text:
            values = arrays[column.name].cast(pa.binary())
            lengths = pc.fill_null(pc.binary_length(values), -1).to_numpy(zero_copy_only=False).astype(">i4")
            parts.append(_binary(4, n, lengths))
            parts.append(values)
        if len(parts) == 1:
            rows = parts[0]
        else:
            rows = pc.binary_join_element_wise(*parts, b"", null_handling="replace", null_replacement=b"")
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=n + 1, offset=rows.offset * 4)
        return [HEADER, memoryview(rows.buffers()[2])[offsets[0] : offsets[n]], TRAILER]


def _binary(width: int, n: int, data):
    """``n`` values of ``width`` bytes each from a numpy buffer, as a pyarrow binary array (no copy)."""
    import numpy as np
    import pyarrow as pa

    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


class ChunkKeys:
    """The prediction ids of some rows and their timestamps (microseconds since 2000-01-01 UTC)."""

    def __init__(self, ids, ts):
        self.ids = ids  # pyarrow string (or binary) array, no nulls
        self.ts = ts  # numpy int64

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.ts.nbytes

    @staticmethod
    def sorted(parts: list[ChunkKeys]) -> ChunkKeys:
        """All of ``parts``, sorted by prediction id (bytewise, as the unique index orders them here)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pa.concat_arrays([p.ids.cast(pa.binary()) for p in parts])
        ts = np.concatenate([p.ts for p in parts])
        order = pc.sort_indices(ids)
        return ChunkKeys(ids.take(order), ts[order.to_numpy()])

    def pack(self) -> bytes:
        """As bytes (``unpack`` reads them back): count, timestamps, the ids' offsets and bytes."""
        import numpy as np
        import pyarrow as pa

        ids = self.ids.cast(pa.binary())
        n = len(ids)
        offsets = np.frombuffer(ids.buffers()[1], dtype=np.int32, count=n + 1, offset=ids.offset * 4)
        data = memoryview(ids.buffers()[2])[offsets[0] : offsets[n]] if n else b""
        head = np.array([n], dtype="<i8").tobytes()
        return head + self.ts.astype("<i8").tobytes() + (offsets - offsets[0]).astype("<i4").tobytes() + bytes(data)

    @staticmethod
    def unpack(data) -> ChunkKeys:
        import numpy as np
        import pyarrow as pa

        n = int(np.frombuffer(data, dtype="<i8", count=1)[0])
        ts = np.frombuffer(data, dtype="<i8", count=n, offset=8).astype(np.int64)
        offsets = np.frombuffer(data, dtype="<i4", count=n + 1, offset=8 + 8 * n).astype(np.int32)
        start = 8 + 8 * n + 4 * (n + 1)
        body = pa.py_buffer(bytes(data[start : start + int(offsets[n])]))
        ids = pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), body])
        return ChunkKeys(ids, ts)


FLOAT8_OID, TEXT_OID = 701, 25
_NULL = b"\xff\xff\xff\xff"


class PredictionRowsEncoder:
    """A predictions chunk as COPY data of ``predictions`` itself (num[] and cat[] built here), so the load
    copies straight into the partitions instead of staging and ``INSERT ... SELECT`` (row at a time), plus
    the chunk's keys (``ChunkKeys``: the loader claims a whole file's, sorted, with ``keys_stream``) and ids
    (row_no, prediction_id).

    The rows have the meaning of ``FileStagingRepository``'s INSERT: NaN numbers are NULL, and ``scores`` is
    NULL when the first class score is NaN. An array in binary COPY is ``ndim, has-nulls, element type,
    (length, lower bound) per dimension`` then each element as ``length, bytes`` (length -1: NULL).

    Speed: the fields are copied in the order ``columns`` gives, fixed-width ones first. Those are one numpy
    structured array per chunk (one strided copy per column); a NULL float drops its 8 value bytes, by one
    boolean compaction of that array, only in chunks that have one. The variable-width fields (text) follow,
    as (length, bytes) pairs joined to it by one ``binary_join_element_wise``. A new text column is one entry
    in ``TEXT_COLUMNS``, a new text[] column one entry in ``text_arrays`` (both come after the others).
    """

    # Fixed-width part, in this order: model_id, ts, then these float8 columns when the layout has them,
    # then num (float8[]), then scores (float8[], multiclass), then the header of cat (text[]).
    FLOATS = ("prediction_value", "score")
    # Variable-width part, after the fixed one: cat's elements, then these text columns, then text[] columns
    # (name -> the layout's staging columns of its elements).
    TEXT_COLUMNS = ("prediction_id", "prediction_label")
    # The columns of the keys and ids streams, in the order they are written.
    KEY_COLUMNS = ("model_id", "ts", "prediction_id")
    ID_COLUMNS = ("row_no", "prediction_id")

    def __init__(self, layout: StagingLayout, model_id: int):
        import numpy as np

        self.layout = layout
        self.model_id = model_id
        self.floats = [c for c in self.FLOATS if layout.has(c)]
        self.texts = [c for c in self.TEXT_COLUMNS if c == "prediction_id" or layout.has(c)]
        self.text_arrays: list[tuple[str, tuple[str | None, ...]]] = []  # after cat: e.g. ("seg", layout.segments)
        self.columns = ["model_id", "ts", *self.floats, "num"]
        if layout.class_scores:
            self.columns.append("scores")
        if layout.segments:  # seg text[]: one element per declared field (None: the file has no column of it)
            self.text_arrays.append(("seg", tuple(layout.segments)))
        self.columns += ["cat", *self.texts, *(name for name, _ in self.text_arrays)]

        fields: list[tuple[str, str]] = [("count", ">i2"), ("l_model", ">i4"), ("model", ">i4")]
        fields += [("l_ts", ">i4"), ("ts", ">i8")]
        for i, _ in enumerate(self.floats):
            fields += [(f"l_f{i}", ">i4"), (f"f{i}", ">f8")]
        fields += _array_fields("num", len(layout.numeric))
        for i in range(len(layout.numeric)):
            fields += [(f"l_num{i}", ">i4"), (f"num{i}", ">f8")]
        if layout.class_scores:
            fields += _array_fields("scores", len(layout.class_scores))
            for i in range(len(layout.class_scores)):
                fields += [(f"l_scores{i}", ">i4"), (f"scores{i}", ">f8")]
        fields += _array_fields("cat", len(layout.categorical))
        self.dtype = np.dtype(fields)
        offsets, at = {}, 0
        for name, kind in fields:
            offsets[name] = at
            at += int(kind[-1])
        self.offsets = offsets
        # Where each nullable float's 8 value bytes are in a row (dropped when NULL).
        self.value_at = {name: offsets[name] for name, kind in fields if kind == ">f8"}
        # The fields every row has alike: the field count, lengths and the arrays' headers (no NULLs).
        self.template = np.zeros(1, dtype=self.dtype)
        self.template["count"] = len(self.columns)
        self.template["l_model"], self.template["model"], self.template["l_ts"] = 4, model_id, 8
        for name in self.value_at:
            self.template["l_" + name] = 8
        _fill_header(self.template, "num", 12 * len(layout.numeric), False, FLOAT8_OID, len(layout.numeric))
        if layout.class_scores:
            count = len(layout.class_scores)
            _fill_header(self.template, "scores", 12 * count, False, FLOAT8_OID, count)
        _fill_header(self.template, "cat", 0, False, TEXT_OID, len(layout.categorical))
        self.key_dtype = np.dtype(
            [("count", ">i2"), ("l_model", ">i4"), ("model", ">i4"), ("l_ts", ">i4"), ("ts", ">i8")]
        )
        self.id_dtype = np.dtype([("count", ">i2"), ("l_row", ">i4"), ("row", ">i8")])

    def encode(self, arrays: dict) -> list:
        """[rows, keys, ids, days]: three complete COPY streams for the chunk (each a list of buffers to write
        in order), and the days (since 2000-01-01 UTC) its timestamps fall on."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(arrays["row_no"])
        layout = self.layout
        ts = arrays["ts"].to_numpy(zero_copy_only=False)
        floats = [(f"f{i}", arrays[c]) for i, c in enumerate(self.floats)]
        floats += [(f"num{i}", arrays[c]) for i, c in enumerate(layout.numeric)]
        floats += [(f"scores{i}", arrays[c]) for i, c in enumerate(layout.class_scores)]
        values = [(name, column.to_numpy(zero_copy_only=False)) for name, column in floats]
        block = np.empty(n, dtype=self.dtype)
        block[:] = self.template
        # Column by column into row-wise records: in slices that stay in the CPU's cache.
        for lo in range(0, n, _SLICE):
            part = block[lo : lo + _SLICE]
            part["ts"] = ts[lo : lo + _SLICE]
            for name, numbers in values:
                part[name] = numbers[lo : lo + _SLICE]
        dropped = self._nulls(block, values)
        text_parts: list = []
        self._text_array(block, "cat", [arrays[c] for c in layout.categorical], text_parts)
        for name in self.texts:
            text_parts += _text_parts(arrays[name])
        for name, sources in self.text_arrays:
            header = np.empty(n, dtype=np.dtype(_array_fields(name, len(sources))))
            _fill_header(header, name, np.zeros(n, dtype=np.int64), False, TEXT_OID, len(sources))
            elements: list = []
            self._text_array(
                header, name, [pa.nulls(n, pa.string()) if c is None else arrays[c] for c in sources], elements
            )
            text_parts += [_binary(header.dtype.itemsize, n, header), *elements]
        rows = pc.binary_join_element_wise(
            self._compact(block, dropped), *text_parts, b"", null_handling="replace", null_replacement=b""
        )

        ident = text_parts[len(layout.categorical) * 2 : len(layout.categorical) * 2 + 2]
        keys = ChunkKeys(arrays["prediction_id"], ts)
        id_head = np.empty(n, dtype=self.id_dtype)
        id_head["count"], id_head["l_row"] = 2, 8
        id_head["row"] = arrays["row_no"].to_numpy(zero_copy_only=False)
        ids = pc.binary_join_element_wise(_binary(self.id_dtype.itemsize, n, id_head), *ident, b"")
        return [_stream(rows, n), keys, _stream(ids, n), _days(ts)]

    def keys_stream(self, keys: ChunkKeys) -> list:
        """The COPY stream of prediction_keys (``KEY_COLUMNS``) for ``keys``, in their order."""
        import numpy as np
        import pyarrow.compute as pc

        n = len(keys.ts)
        head = np.empty(n, dtype=self.key_dtype)
        head["count"], head["l_model"], head["model"] = 3, 4, self.model_id
        head["l_ts"], head["ts"] = 8, keys.ts
        joined = pc.binary_join_element_wise(_binary(self.key_dtype.itemsize, n, head), *_text_parts(keys.ids), b"")
        return _stream(joined, n)

    def _nulls(self, block, values) -> list:
        """NaN floats as NULL: length -1 (their value bytes are dropped by ``_compact``), and the arrays'
        lengths and has-nulls flags; ``scores`` NULL where the first class score is NaN. Returns the
        (value offset, rows) to drop."""
        import numpy as np

        dropped = []
        arrays: dict[str, tuple] = {}
        for name, numbers in values:
            missing = np.isnan(numbers)
            if not missing.any():
                continue
            block["l_" + name][missing] = -1
            dropped.append((self.value_at[name], 8, missing))
            array = "num" if name.startswith("num") else "scores" if name.startswith("scores") else None
            if array is not None:
                count, rows = arrays.get(array, (0, None))
                arrays[array] = (count + missing.astype(np.int32), missing if rows is None else rows | missing)
        for array, (count, rows) in arrays.items():
            block["l_" + array] -= 8 * count
            block["flags_" + array] = rows
        if "scores0" in self.value_at and "scores" in arrays:
            null = np.isnan(values[-len(self.layout.class_scores)][1])
            if null.any():
                # the header and the elements go; only the length (-1) stays
                start, end = self.offsets["ndim_scores"], self.offsets["l_cat"]
                block["l_scores"][null] = -1
                dropped.append((start, end - start, null))
        return dropped

    @staticmethod
    def _text_array(block, name: str, columns, text_parts: list) -> None:
        """The length and has-nulls flag of a text[] field into ``block`` (its other header fields are set);
        the elements' (length, bytes) appended to ``text_parts``."""
        import numpy as np
        import pyarrow.compute as pc

        n = len(block)
        size = np.full(n, 20 + 4 * len(columns), dtype=np.int64)
        nulls = None
        for values in columns:
            length, value = _text_parts(values)
            if values.null_count:
                missing = pc.is_null(values).to_numpy(zero_copy_only=False)
                nulls = missing if nulls is None else nulls | missing
            size += np.maximum(np.frombuffer(length.buffers()[2], dtype=">i4", count=n), 0)
            text_parts += [length, value]
        if columns:
            block["l_" + name] = size
            if nulls is not None:
                block["flags_" + name] = nulls

    def _compact(self, block, dropped: list):
        """The fixed-width part as a binary array, without the bytes of NULL values (in chunks that have any)."""
        import numpy as np
        import pyarrow as pa

        n, width = len(block), block.dtype.itemsize
        if not dropped:
            return _binary(width, n, block)
        keep = np.ones((n, width), dtype=bool)
        for at, size, rows in dropped:
            keep[rows, at : at + size] = False
        data = block.view(np.uint8).reshape(n, width)[keep]
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(keep.sum(axis=1, dtype=np.int32), out=offsets[1:])
        return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


_SLICE = 4096  # rows of the fixed-width records filled at a time


def _days(ts) -> list[int]:
    """The days (since 2000-01-01 UTC) of the timestamps (microseconds since then)."""
    import numpy as np

    days = ts // 86_400_000_000
    lo, hi = int(days.min()), int(days.max())
    if hi - lo < 4096:
        return [lo + int(d) for d in np.flatnonzero(np.bincount(days - lo))]
    return [int(d) for d in np.unique(days)]


def _array_fields(name: str, count: int) -> list[tuple[str, str]]:
    """Field length and header of a one-dimensional array of ``count`` elements (0: the empty array)."""
    fields = [(f"l_{name}", ">i4"), (f"ndim_{name}", ">i4"), (f"flags_{name}", ">i4"), (f"type_{name}", ">i4")]
    if count:
        fields += [(f"dim_{name}", ">i4"), (f"lb_{name}", ">i4")]
    return fields


def _fill_header(block, name: str, size, nulls, element_type: int, count: int) -> None:
    """``size``: the elements' bytes (with their lengths); ``nulls``: rows with a NULL element."""
    block[f"type_{name}"] = element_type
    if count == 0:
        block[f"l_{name}"], block[f"ndim_{name}"], block[f"flags_{name}"] = 12, 0, 0
        return
    block[f"l_{name}"] = 20 + size
    block[f"ndim_{name}"], block[f"flags_{name}"] = 1, nulls
    block[f"dim_{name}"], block[f"lb_{name}"] = count, 1


def _text_parts(values) -> list:
    """A text field as two parts to join: its length (-1 for NULL) and its bytes (NULL: none)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = values.cast(pa.binary())
    lengths = pc.binary_length(values)
    if values.null_count:
        lengths = pc.fill_null(lengths, -1)
    lengths = lengths.to_numpy(zero_copy_only=False).astype(">i4")
    return [_binary(4, len(values), lengths), values]


def _stream(rows, n: int) -> list:
    import numpy as np

    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=n + 1, offset=rows.offset * 4)
    return [HEADER, memoryview(rows.buffers()[2])[offsets[0] : offsets[n]], TRAILER]
