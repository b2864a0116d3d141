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
