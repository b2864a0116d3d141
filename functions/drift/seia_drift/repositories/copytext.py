"""COPY's text format read with pandas' C reader: the one parse of the drift reads' categorical values.

The profile step's categorical counts (:mod:`seia_drift.repositories.sketches`) and multivariate drift's
values (:mod:`seia_drift.repositories.multivariate`) both read ``COPY ... TO STDOUT`` text with it. Every
column read as text stays text: only ``\\N`` is missing, so a category spelled ``NA``, ``null``, ``nan`` or
empty stays a category; COPY's escapes are undone on the distinct values only. The same calls give the same
values under the drift layer's pandas 2 (object strings, no pyarrow) and pandas 3 (its ``str`` dtype, with or
without pyarrow): tests/unit/drift/test_copy_text.py checks that on whichever pandas is installed.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

_ESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r", "\\b": "\b", "\\f": "\f", "\\v": "\v"}
_ESCAPE = re.compile(r"\\(\\|t|n|r|b|f|v)")


def escape(text: str) -> str:
    """A value in COPY's text format (what ``COPY ... FROM`` reads back as ``text``)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def unescape(text: str) -> str:
    """A value of ``COPY ... TO`` text output (never ``\\N``) as the text it stands for."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], text)


def read(data: bytes | bytearray | io.BytesIO, dtype: Any = str) -> Any:
    """The rows of COPY text output as a DataFrame, columns numbered from 0 (``dtype``: ``str`` for every
    column, or a dtype per column number). Values stay escaped; ``\\N`` is missing (NaN)."""
    import pandas as pd

    buf = data if isinstance(data, io.BytesIO) else io.BytesIO(data)
    return pd.read_csv(
        buf,
        sep="\t",
        header=None,
        quoting=csv.QUOTE_NONE,
        dtype=dtype,
        na_values=["\\N"],
        keep_default_na=False,
        engine="c",
    )


def factorize(column: Any) -> tuple[Any, list[str]]:
    """(codes, names) of a text column of :func:`read`: row i's value is ``names[codes[i]]``, code -1 is
    missing; names unescaped, in order of first appearance."""
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return codes, [unescape(u) for u in uniques]
