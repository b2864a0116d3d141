"""The drift reads' parse of COPY text, on whichever pandas and numpy are installed.

The drift layer deploys pandas 2 (object strings, no pyarrow: layers/drift/requirements.txt) while a
development environment may hold pandas 3 (its ``str`` dtype, pyarrow-backed when pyarrow is there): these
tests pin what the categorical reads must give under either. Text is what PostgreSQL's ``COPY ... TO STDOUT``
writes (:func:`pg_copy_text`); only ``\\N`` is missing, any other spelling is a category.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from seia.segment_rows import Rows
from seia_drift.layout import Layout, Slot
from seia_drift.repositories import copytext
from seia_drift.repositories.sketches import ChunkData, SketchRepository

# Every spelling pandas treats as missing by default, and other values a parser could turn into something
# else (numbers, booleans, quotes, comments, padding, escapes, non-ASCII).
AWKWARD = [
    "NA", "N/A", "n/a", "NaN", "nan", "-nan", "null", "NULL", "None", "<NA>", "#N/A", "#NA", "-1.#IND", "",
    "\\N", "\\\\N", "N", "a\tb", "line\nbreak", "cr\rlf", "back\\slash", "trailing\\", "\b\f\v", "  padded ",
    "1.0", "01", "1e5", "TRUE", "false", '"quoted"', "'single'", "#hash", "é漢字", "\x1f\x7f",
]  # fmt: skip


def pg_copy_text(value: str | None) -> str:
    """A text value as PostgreSQL's COPY TO writes it (CopyAttributeOutText: backslash and the delimiter,
    and \\b \\f \\n \\r \\t \\v, escaped; other characters as they are); NULL is ``\\N``."""
    if value is None:
        return "\\N"
    out = value.replace("\\", "\\\\")
    for char, escaped in (("\b", "\\b"), ("\f", "\\f"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\v", "\\v")):
        out = out.replace(char, escaped)
    return out


def copy_out(rows: list[list[object]]) -> bytearray:
    return bytearray(
        "".join("\t".join(v if isinstance(v, str) else str(v) for v in row) + "\n" for row in rows).encode()
    )


def categorical_counts(hours: list[int], *columns: list[str | None]) -> list[tuple[object, ...]]:
    """The profile step's counts of categorical columns (positions 1, 2, ...) over COPY text, as it reads a
    chunk (no database: the chunk's COPY output is given)."""
    slots = tuple(Slot(f"f{p}", "categorical", "feature", p) for p in range(1, len(columns) + 1))
    layout = Layout(numeric=(), categorical=slots, label=Slot("label", "categorical", "label", 0))
    text = copy_out([[h, *(pg_copy_text(c[i]) for c in columns)] for i, h in enumerate(hours)])
    return SketchRepository(None).categorical_counts(layout, {}, Rows(1), data=ChunkData(categorical=text))  # type: ignore[arg-type]


def expected_counts(hours: list[int], position: int, values: list[str | None]) -> list[tuple[object, ...]]:
    out = []
    for hour in sorted(set(hours)):
        here = [v for h, v in zip(hours, values) if h == hour]
        counts = Counter(v for v in here if v is not None)
        names = sorted(counts)
        out.append(
            (
                datetime.fromtimestamp(hour * 3600, tz=UTC),
                position,
                names or None,
                [counts[n] for n in names] or None,
                here.count(None),
            )
        )
    return out


def test_every_spelling_but_copy_null_is_a_category():
    values: list[str | None] = [*AWKWARD, None, *AWKWARD[::-1], None]
    hours = [480_000 + i % 3 for i in range(len(values))]
    got = categorical_counts(hours, values)
    assert got == expected_counts(hours, 1, values)
    categories = {c for row in got for c in row[2] or ()}
    assert categories == set(AWKWARD)  # "NA", "null", "nan", "" and "\\N" itself among them, as written
    assert sum(row[4] for row in got) == 2  # the two NULLs, nothing else


def test_a_column_of_nulls_only_and_one_row():
    hours = [10, 10, 11]
    assert categorical_counts(hours, [None, None, None], ["NA", None, ""]) == expected_counts(
        hours, 1, [None, None, None]
    ) + expected_counts(hours, 2, ["NA", None, ""])
    assert categorical_counts([7], ["nan"]) == expected_counts([7], 1, ["nan"])


def test_read_and_factorize_as_multivariate_reads():
    """The multivariate read's columns: an int64 hour, float64 values (NULL is NaN), text (NULL is code -1)."""
    rows = [[5, "1.5", pg_copy_text("NA")], [6, "\\N", "\\N"], [6, "-1e+100", ""], [7, "0", pg_copy_text("a\\b\tc")]]
    frame = copytext.read(copy_out(rows), {0: "int64", 1: "float64", 2: str})
    assert frame.iloc[:, 0].tolist() == [5, 6, 6, 7]
    assert all(type(h) is int for h in frame.iloc[:, 0].tolist())
    numeric = frame.iloc[:, 1:2].to_numpy(dtype=np.float64)
    assert numeric.shape == (4, 1)
    assert numeric[[0, 2, 3], 0].tolist() == [1.5, -1e100, 0.0] and np.isnan(numeric[1, 0])
    codes, names = copytext.factorize(frame.iloc[:, 2])
    assert codes.tolist() == [0, -1, 1, 2]
    assert names == ["NA", "", "a\\b\tc"] and all(type(n) is str for n in names)


def test_hours_and_numbers_of_text_columns():
    """The categorical read takes every column as text and converts the hour, the segments' prediction
    and the kept ``seq`` with numpy (NULL prediction is NaN)."""
    frame = copytext.read(copy_out([[480001, "0.25", 3], [480000, "\\N", 9_000_000_000]]))
    assert frame[0].to_numpy(dtype=np.int64).tolist() == [480001, 480000]
    pred = frame[1].to_numpy(dtype=np.float64)
    assert pred[0] == 0.25 and np.isnan(pred[1])
    assert frame[2].to_numpy(dtype=np.int64).tolist() == [3, 9_000_000_000]


# Any text PostgreSQL stores (no NUL, no lone surrogate), NULL, and the awkward spellings.
_values = st.one_of(
    st.none(), st.sampled_from(AWKWARD), st.text(st.characters(exclude_categories=["Cs"], min_codepoint=1))
)


@hsettings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 2), _values, _values), min_size=1, max_size=40))
def test_any_text_round_trips(rows):
    hours = [480_000 + h for h, _, _ in rows]
    first, second = [a for _, a, _ in rows], [b for _, _, b in rows]
    assert categorical_counts(hours, first, second) == expected_counts(hours, 1, first) + expected_counts(
        hours, 2, second
    )
    frame = copytext.read(copy_out([[h, pg_copy_text(a), pg_copy_text(b)] for h, a, b in zip(hours, first, second)]))
    for column, values in ((1, first), (2, second)):
        codes, names = copytext.factorize(frame[column])
        assert [names[c] if c >= 0 else None for c in codes] == values
