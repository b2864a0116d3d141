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
    """``n`` values of ``width`` bytes each from a numpy buffer, as a pyarrow binary array."""
    import pyarrow as pa

    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(data)]).cast(pa.binary())


FLOAT8_OID, TEXT_OID = 701, 25
_NULL = b"\xff\xff\xff\xff"


class PredictionRowsEncoder:
    """A predictions chunk as COPY data of ``predictions`` itself (num[] and cat[] built here), so the load
    copies straight into the partitions instead of staging and ``INSERT ... SELECT`` (row at a time), plus
    the chunk's keys (model_id, prediction_id, ts) and ids (prediction_id, row_no).

    The rows have the meaning of ``FileStagingRepository``'s INSERT: NaN numbers are NULL, and ``scores`` is
    NULL when the first class score is NaN. An array in binary COPY is ``ndim, has-nulls, element type,
    (length, lower bound) per dimension`` then each element as ``length, bytes`` (length -1: NULL).
    """

    def __init__(self, layout: StagingLayout, model_id: int):
        self.layout = layout
        self.model_id = model_id
        self.columns = ["model_id", "prediction_id", "ts", "num", "cat"]
        if layout.has("prediction_label"):
            self.columns.append("prediction_label")
        if layout.has("prediction_value"):
            self.columns.append("prediction_value")
        if layout.has("score"):
            self.columns.append("score")
        if layout.class_scores:
            self.columns.append("scores")
        if layout.segments:
            self.columns.append("seg")

    def encode(self, arrays: dict) -> list:
        """[rows, keys, ids, days]: three complete COPY streams for the chunk (each a list of buffers to write
        in order), and the days (since 2000-01-01 UTC) its timestamps fall on."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(arrays["row_no"])
        layout = self.layout
        ts = arrays["ts"].to_numpy(zero_copy_only=False).astype(">i8")
        head = np.empty(n, dtype=[("count", ">i2"), ("l0", ">i4"), ("model", ">i4")])
        head["count"], head["l0"], head["model"] = len(self.columns), 4, self.model_id
        ident = _text_field(arrays["prediction_id"])
        stamp = _fixed(ts)
        parts = [_binary(head.dtype.itemsize, n, head), ident, stamp]
        parts += _float_array([arrays[c] for c in layout.numeric], n)
        parts += _text_array([arrays[c] for c in layout.categorical], n)
        if layout.has("prediction_label"):
            parts.append(_text_field(arrays["prediction_label"]))
        if layout.has("prediction_value"):
            parts.append(_float_field(arrays["prediction_value"]))
        if layout.has("score"):
            parts.append(_float_field(arrays["score"]))
        if layout.class_scores:
            first_nan = pc.is_nan(arrays[layout.class_scores[0]])
            scores = pc.binary_join_element_wise(
                *_float_array([arrays[c] for c in layout.class_scores], n), b"", null_handling="replace"
            )
            parts.append(pc.if_else(first_nan, pa.scalar(_NULL, pa.binary()), scores))
        if layout.segments:
            absent = pa.nulls(n, pa.string())
            parts += _text_array([absent if g is None else arrays[g] for g in layout.segments], n)
        rows = pc.binary_join_element_wise(*parts, b"", null_handling="replace", null_replacement=b"")

        key_head = np.empty(n, dtype=[("count", ">i2"), ("l0", ">i4"), ("model", ">i4")])
        key_head["count"], key_head["l0"], key_head["model"] = 3, 4, self.model_id
        keys = pc.binary_join_element_wise(_binary(10, n, key_head), ident, stamp, b"")
        id_head = np.full(n, 2, dtype=">i2")
        row_no = np.empty(n, dtype=[("l", ">i4"), ("v", ">i8")])
        row_no["l"], row_no["v"] = 8, arrays["row_no"].to_numpy(zero_copy_only=False)
        ids = pc.binary_join_element_wise(_binary(2, n, id_head), ident, _binary(12, n, row_no), b"")
        days = [int(d) for d in np.unique(ts.astype(np.int64) // 86_400_000_000)]
        return [_stream(rows, n), _stream(keys, n), _stream(ids, n), days]


def _stream(rows, n: int) -> list:
    import numpy as np

    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=n + 1, offset=rows.offset * 4)
    return [HEADER, memoryview(rows.buffers()[2])[offsets[0] : offsets[n]], TRAILER]


def _fixed(values):
    """An int8 / timestamptz field (never NULL): length 8, then the value."""
    import numpy as np

    out = np.empty(len(values), dtype=[("l", ">i4"), ("v", ">i8")])
    out["l"], out["v"] = 8, values
    return _binary(12, len(values), out)


def _text_field(values):
    """A text field: length then bytes, -1 for NULL."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = values.cast(pa.binary())
    lengths = pc.fill_null(pc.binary_length(values), -1).to_numpy(zero_copy_only=False).astype(">i4")
    return pc.binary_join_element_wise(_binary(4, len(values), lengths), values, b"", null_handling="replace")


def _float_field(values):
    """A float8 field: NaN (the staging sentinel) is NULL."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = values.to_numpy(zero_copy_only=False)
    out = np.empty(len(numbers), dtype=[("l", ">i4"), ("v", ">f8")])
    out["l"], out["v"] = 8, numbers
    return pc.if_else(pc.is_nan(values), pa.scalar(_NULL, pa.binary()), _binary(12, len(numbers), out))


def _array_header(n: int, size, has_nulls, element_type: int, count: int):
    """Field length and array header of a one-dimensional array of ``count`` elements (0: the empty array)."""
    import numpy as np

    if count == 0:
        out = np.empty(n, dtype=[("l", ">i4"), ("ndim", ">i4"), ("flags", ">i4"), ("type", ">i4")])
        out["l"], out["ndim"], out["flags"], out["type"] = 12, 0, 0, element_type
        return _binary(16, n, out)
    fields = [("l", ">i4"), ("ndim", ">i4"), ("flags", ">i4"), ("type", ">i4"), ("dim", ">i4"), ("lb", ">i4")]
    out = np.empty(n, dtype=fields)
    out["l"], out["ndim"], out["flags"], out["type"] = 20 + size, 1, has_nulls, element_type
    out["dim"], out["lb"] = count, 1
    return _binary(24, n, out)


def _float_array(columns, n: int) -> list:
    """float8[] of the columns, row-wise (NaN elements NULL): the header, then one part per element."""
    import numpy as np
    import pyarrow.compute as pc

    size = np.zeros(n, dtype=np.int64)
    nulls = np.zeros(n, dtype=bool)
    elements = []
    for values in columns:
        missing = pc.is_nan(values).to_numpy(zero_copy_only=False)
        size += np.where(missing, 4, 12)
        nulls |= missing
        elements.append(_float_field(values))
    return [_array_header(n, size, nulls.astype(np.int32), FLOAT8_OID, len(columns)), *elements]


def _text_array(columns, n: int) -> list:
    """text[] of the columns, row-wise (NULL elements kept)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    size = np.zeros(n, dtype=np.int64)
    nulls = np.zeros(n, dtype=bool)
    elements = []
    for values in columns:
        lengths = pc.binary_length(values.cast(pa.binary()))
        size += 4 + pc.fill_null(lengths, 0).to_numpy(zero_copy_only=False)
        nulls |= pc.is_null(values).to_numpy(zero_copy_only=False)
        elements.append(_text_field(values))
    return [_array_header(n, size, nulls.astype(np.int32), TEXT_OID, len(columns)), *elements]
