"""A file's columns checked against the model, a chunk at a time and column-wise (pyarrow.compute).

Same rules as the HTTP API's records (the ingest function's ``seia_ingest.validation``): finite numbers, labels the model has,
RFC 3339 timestamps with an offset, ids of 1 to 200 characters. A chunk with any bad value is
reported with the 1-based data row and the column of its first problems; the caller then rejects
the whole file. Valid chunks come out as the staging table's columns (``StagingLayout``).

Nulls in fixed-width staging columns travel as sentinels that valid data can never hold (NaN for
numbers, -infinity for timestamps); the final INSERT turns them back into NULL.

A model's segment fields (docs/segments.md) are optional columns named as the field (JSON Lines: top-level keys),
text of at most 200 characters; an absent column is a missing value on every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seia.schema import MAX_CATEGORY_LENGTH, MAX_ID_LENGTH, Model
from seia.timeutil import EARLIEST, LATEST, RANGE_TEXT
from seia_files.errors import MAX_ERRORS, FileRejected, RowError

PREDICTIONS, GROUND_TRUTHS, REFERENCE = "predictions", "ground-truths", "reference"
SCORE_PREFIX = "score_"
# PostgreSQL's timestamptz counts microseconds from 2000-01-01; the sentinel for "no timestamp".
PG_EPOCH_US = 946_684_800_000_000
NO_TIMESTAMP = -(2**63)
# The API's range (seia.timeutil), as microseconds since 1970 in UTC: [_MIN_US, _MAX_US].
_MIN_US = (EARLIEST - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
_MAX_US = (LATEST - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) - 1


@dataclass(frozen=True)
class StagingColumn:
    name: str  # column of the staging table (never a user-chosen name)
    pg_type: str  # int8, timestamptz, float8 or text
    source: str | None = None  # the file's column, for messages


@dataclass(frozen=True)
class StagingLayout:
    """The staging table of one file: fixed-width columns first, then text columns."""

    kind: str
    model: Model
    columns: tuple[StagingColumn, ...]
    numeric: tuple[str, ...]  # staging names of the numeric features, in the model's order
    categorical: tuple[str, ...]
    class_scores: tuple[str, ...]  # staging names of score_<label>, in the model's label order
    # Staging names of the segment fields' columns in slot order of model.segments; None: not in the file.
    segments: tuple[str | None, ...] = ()

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def fixed(self) -> tuple[StagingColumn, ...]:
        return tuple(c for c in self.columns if c.pg_type != "text")

    @property
    def text(self) -> tuple[StagingColumn, ...]:
        return tuple(c for c in self.columns if c.pg_type == "text")


class FileColumns:
    """What a file of ``kind`` for ``model`` must and may contain, and its staging layout."""

    def __init__(self, model: Model, kind: str):
        self.model = model
        self.kind = kind
        classification = model.is_classification
        if kind == GROUND_TRUTHS:
            self.required = ["prediction_id", "label"]
            self.optional = ["timestamp"]
        else:
            # A feature added by PATCH may be absent (its values are missing for the file's rows), as may a
            # removed one (producers are updated after the PATCH); the model's original features are required.
            later = {f.name for f in model.features if f.added_at or f.removed}
            features = [*model.numeric, *model.categorical]
            self.required = ["prediction_id", "timestamp", "prediction", *(f for f in features if f not in later)]
            self.optional = [f for f in features if f in later]
            if model.task == "binary_classification":
                self.optional.append("score")
            elif model.task == "multiclass_classification":
                self.optional.extend(SCORE_PREFIX + label for label in model.labels or ())
            if kind == REFERENCE:
                self.optional.append("label")
            self.optional.extend(model.segments)
        self.classification = classification

    @property
    def text_columns(self) -> list[str]:
        """Columns that JSON Lines files must give as strings (timestamps, ids, categorical values)."""
        if self.kind == GROUND_TRUTHS:
            return ["prediction_id", "timestamp"]
        return ["prediction_id", "timestamp", *self.model.categorical, *self.model.segments]

    def check_header(self, names: list[str]) -> list[str]:
        """The file's columns, checked; raises ``FileRejected`` naming each missing or unknown column."""
        errors, seen = [], set()
        allowed = set(self.required) | set(self.optional)
        for name in names:
            if name in seen:
                errors.append(RowError(None, name[:64], "duplicate column"))
            elif name not in allowed:
                hint = "not a feature of the model"
                if self.kind == GROUND_TRUTHS:
                    hint = "ground-truth files have prediction_id, label and timestamp"
                elif name == "score" and self.model.task == "multiclass_classification":
                    hint = "multiclass files give one score_<label> column per class"
                elif name == "score" and not self.classification:
                    hint = "regression models take no score"
                elif name == "segments" and self.model.segments:
                    hint = "a segment value is a column named as its field (JSON Lines: a top-level key)"
                errors.append(RowError(None, name[:64], f"unknown column ({hint})"))
            seen.add(name)
        for name in self.required:
            if name not in seen:
                errors.append(RowError(None, name, "missing column"))
        class_scores = (
            [SCORE_PREFIX + label for label in self.model.labels or ()]
            if self.model.task == "multiclass_classification"
            else []
        )
        present = [c for c in class_scores if c in seen]
        if present and len(present) != len(class_scores):
            for c in class_scores:
                if c not in seen:
                    errors.append(RowError(None, c, "missing column (give score_<label> for every class, or none)"))
        if errors:
            raise FileRejected(errors)
        return list(names)

    def layout(self, names: list[str]) -> StagingLayout:
        """The staging columns for a file with the (checked) columns ``names``."""
        present = set(names)
        model = self.model
        fixed = [StagingColumn("row_no", "int8")]
        text = [StagingColumn("prediction_id", "text", "prediction_id")]
        numeric = tuple(f"n{i}" for i in range(len(model.numeric)))
        categorical = tuple(f"c{i}" for i in range(len(model.categorical)))
        class_scores: tuple[str, ...] = ()
        if self.kind == GROUND_TRUTHS:
            if "timestamp" in present:
                fixed.append(StagingColumn("ts", "timestamptz", "timestamp"))
        else:
            fixed.append(StagingColumn("ts", "timestamptz", "timestamp"))
            fixed += [StagingColumn(s, "float8", f) for s, f in zip(numeric, model.numeric)]
            text += [StagingColumn(s, "text", f) for s, f in zip(categorical, model.categorical)]
            if self.classification:
                text.append(StagingColumn("prediction_label", "text", "prediction"))
            else:
                fixed.append(StagingColumn("prediction_value", "float8", "prediction"))
            if "score" in present:
                fixed.append(StagingColumn("score", "float8", "score"))
            labels = model.labels or ()
            if model.task == "multiclass_classification" and SCORE_PREFIX + labels[0] in present:
                class_scores = tuple(f"s{i}" for i in range(len(labels)))
                fixed += [StagingColumn(s, "float8", SCORE_PREFIX + label) for s, label in zip(class_scores, labels)]
        if "label" in present:
            if self.classification:
                text.append(StagingColumn("label", "text", "label"))
            else:
                fixed.append(StagingColumn("label_value", "float8", "label"))
        segments: tuple[str | None, ...] = ()
        if self.kind != GROUND_TRUTHS and model.segments:
            segments = tuple(f"g{i}" if name in present else None for i, name in enumerate(model.segments))
            text += [StagingColumn(g, "text", name) for g, name in zip(segments, model.segments) if g is not None]
        return StagingLayout(self.kind, model, tuple(fixed + text), numeric, categorical, class_scores, segments)


class ChunkValidator:
    """Turns one chunk (a pyarrow Table with the file's columns) into staging arrays, or rejects it."""

    def __init__(self, layout: StagingLayout):
        import pyarrow as pa

        self.layout = layout
        self.model = layout.model
        self.labels = pa.array(list(self.model.labels or ()), pa.string())

    def validate(self, table, first_row: int) -> dict:
        """Staging column name -> pyarrow Array, for the rows ``first_row`` (1-based) onwards."""
        import pyarrow as pa

        n = table.num_rows
        batch = table.combine_chunks()
        self.errors: list[RowError] = []
        self._reported: set[tuple[int, str]] = set()
        self.first_row = first_row
        out = {"row_no": pa.array(range(first_row, first_row + n), pa.int64())}
        present = set(batch.schema.names)
        for column in self.layout.columns:
            if column.source is None:
                continue
            # only an optional feature's column can be absent (check_header): missing values
            values = _single(batch.column(column.source)) if column.source in present else pa.nulls(n)
            out[column.name] = self._convert(column, values)
            if len(self.errors) >= MAX_ERRORS:
                break
        if not self.errors and self.layout.class_scores:
            self._check_class_scores(out)
        if self.errors:
            raise FileRejected(self.errors)
        return out

    # -- per column ----------------------------------------------------------------------
    def _add(self, indices, column: str, message: Callable[[int], str] | str) -> None:
        for i in indices:
            if len(self.errors) >= MAX_ERRORS:
                return
            if (i, column) in self._reported:  # one problem per value
                continue
            self._reported.add((i, column))
            text = message(i) if callable(message) else message
            self.errors.append(RowError(self.first_row + i, column, text))

    def _flag(self, mask, column: str, message) -> None:
        import pyarrow.compute as pc

        if mask is not None and pc.any(mask).as_py():
            self._add(pc.indices_nonzero(mask).to_pylist(), column, message)

    def _convert(self, column: StagingColumn, values):
        source = column.source
        if column.name == "prediction_id":
            return self._prediction_id(values, source)
        if column.name == "ts":
            return self._timestamp(values, source, required=self.layout.kind != GROUND_TRUTHS)
        if column.name in ("prediction_label", "label"):
            required = column.name == "prediction_label" or self.layout.kind == GROUND_TRUTHS
            return self._label(values, source, required=required)
        if column.name in ("prediction_value", "label_value"):
            required = column.name == "prediction_value" or self.layout.kind == GROUND_TRUTHS
            return self._number(values, source, required=required)
        if column.pg_type == "text":
            if column.name in self.layout.segments:
                return self._segment(values, source)
            return self._category(values, source)
        if column.name == "score" or column.name in self.layout.class_scores:
            return self._probability(values, source)
        return self._number(values, source, required=False)

    def _prediction_id(self, values, name):
        import pyarrow.compute as pc

        text = self._text(values, name, allow_bool=False)
        if text is None:
            return None
        length = pc.utf8_length(text)
        self._flag(pc.is_null(text), name, "missing")
        bad = pc.or_(pc.or_(pc.equal(length, 0), pc.greater(length, MAX_ID_LENGTH)), pc.match_substring(text, "\x00"))
        self._flag(pc.fill_null(bad, False), name, f"must be 1 to {MAX_ID_LENGTH} characters, no NUL character")
        return text

    def _category(self, values, name):
        import pyarrow.compute as pc

        text = self._text(values, name, allow_bool=True)
        if text is None:
            return None
        bad = pc.or_(pc.greater(pc.utf8_length(text), MAX_CATEGORY_LENGTH), pc.match_substring(text, "\x00"))
        self._flag(pc.fill_null(bad, False), name, f"at most {MAX_CATEGORY_LENGTH} characters, no NUL character")
        return text

    def _segment(self, values, name):
        """A segment field's values: text only (as the API's records), at most 200 characters."""
        import pyarrow as pa
        import pyarrow.compute as pc

        t = values.type
        if pa.types.is_dictionary(t):
            values, t = values.dictionary_decode(), t.value_type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)):
            self.errors.append(RowError(None, name, f"a segment field's values must be text, not {t}"))
            return None
        text = values.cast(pa.string())
        bad = pc.or_(pc.greater(pc.utf8_length(text), MAX_CATEGORY_LENGTH), pc.match_substring(text, "\x00"))
        self._flag(pc.fill_null(bad, False), name, f"at most {MAX_CATEGORY_LENGTH} characters, no NUL character")
        return text

    def _label(self, values, name, required: bool):
        import pyarrow.compute as pc

        text = self._text(values, name, allow_bool=False)
        if text is None:
            return None
        if required:
            self._flag(pc.is_null(text), name, "missing")
        unknown = pc.and_(pc.invert(pc.is_in(text, value_set=self.labels)), pc.is_valid(text))
        self._flag(unknown, name, lambda i: f"{_show(text[i])} is not one of the model's labels")
        return text

    def _number(self, values, name, required: bool):
        import pyarrow.compute as pc

        numbers = self._float(values, name)
        if numbers is None:
            return None
        if required:
            self._flag(pc.is_null(numbers), name, "missing")
        self._flag(pc.invert(pc.fill_null(pc.is_finite(numbers), True)), name, "must be a finite number")
        return pc.fill_null(numbers, float("nan"))

    def _probability(self, values, name):
        import pyarrow.compute as pc

        numbers = self._float(values, name)
        if numbers is None:
            return None
        inside = pc.and_(pc.greater_equal(numbers, 0.0), pc.less_equal(numbers, 1.0))  # false for NaN
        self._flag(pc.invert(pc.fill_null(inside, True)), name, "must be a probability in [0, 1]")
        return pc.fill_null(numbers, float("nan"))

    def _check_class_scores(self, out) -> None:
        import pyarrow.compute as pc

        missing = [pc.is_nan(out[s]) for s in self.layout.class_scores]
        some = missing[0]
        every = missing[0]
        for m in missing[1:]:
            some, every = pc.or_(some, m), pc.and_(every, m)
        first = SCORE_PREFIX + (self.model.labels or ())[0]
        self._flag(pc.and_(some, pc.invert(every)), first, "give a score for every class, or none")

    def _timestamp(self, values, name, required: bool):
        import pyarrow as pa
        import pyarrow.compute as pc

        t = values.type
        target = pa.timestamp("us", "UTC")
        if pa.types.is_timestamp(t):
            if t.tz is None:
                self.errors.append(
                    RowError(
                        None,
                        name,
                        "timestamps have no UTC offset: store them as UTC "
                        "(timestamp with time zone) or as RFC 3339 text",
                    )
                )
                return None
            stamps = pc.cast(values, target, safe=False)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
            stamps = self._cast_or_report(
                values.cast(pa.string()),
                target,
                name,
                lambda v: f"{_show(v)} is not an RFC 3339 timestamp with an offset (e.g. 2026-01-02T03:04:05Z)",
            )
            if stamps is None:
                return None
        else:
            self.errors.append(RowError(None, name, f"must be RFC 3339 text or a timestamp with time zone, not {t}"))
            return None
        micros = stamps.cast(pa.int64())
        if required:
            self._flag(pc.is_null(micros), name, "missing")
        out_of_range = pc.or_(pc.less(micros, _MIN_US), pc.greater(micros, _MAX_US))
        self._flag(pc.fill_null(out_of_range, False), name, f"out of range: Seia takes timestamps in the {RANGE_TEXT}")
        return pc.fill_null(pc.subtract(micros, PG_EPOCH_US), NO_TIMESTAMP)

    # -- type conversions ---------------------------------------------------------------
    def _text(self, values, name, allow_bool: bool):
        import pyarrow as pa

        t = values.type
        if pa.types.is_dictionary(t):
            values, t = values.dictionary_decode(), t.value_type
        if (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_integer(t)
            or pa.types.is_null(t)
            or (allow_bool and pa.types.is_boolean(t))
        ):
            return values.cast(pa.string())
        self.errors.append(RowError(None, name, f"must be text{' or integers' if not allow_bool else ''}, not {t}"))
        return None

    def _float(self, values, name):
        import pyarrow as pa

        t = values.type
        if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
            return values.cast(pa.float64())
        if pa.types.is_dictionary(t):
            return self._float(values.dictionary_decode(), name)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return self._cast_or_report(
                values.cast(pa.string()), pa.float64(), name, lambda v: f"{_show(v)} is not a number"
            )
        self.errors.append(RowError(None, name, f"must be numbers, not {t}"))
        return None

    def _cast_or_report(self, values, target, name, message):
        """``values`` cast to ``target``; on failure, the first failing rows are reported (bisection)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            return values.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        bad = _failing(values, lambda a: a.cast(target), MAX_ERRORS - len(self.errors))
        self._add(bad, name, lambda i: message(values[i]))
        # The other rows are still checked (range, finiteness), for a fuller report.
        reported = pc.is_in(pa.array(range(len(values)), pa.int64()), value_set=pa.array(bad, pa.int64()))
        try:
            return pc.if_else(reported, pa.scalar(None, values.type), values).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None


def _single(column):
    """One contiguous Array from a ChunkedArray."""
    import pyarrow as pa

    if not isinstance(column, pa.ChunkedArray):
        return column
    if column.num_chunks == 1:
        return column.chunk(0)
    return pa.concat_arrays(column.chunks) if column.num_chunks else pa.array([], column.type)


def _failing(values, convert, limit: int) -> list[int]:
    """Indices (at most ``limit``) where ``convert`` fails, by bisection: O(k log n) conversions."""
    import pyarrow as pa

    found: list[int] = []

    def visit(offset: int, part) -> None:
        if len(found) >= limit or len(part) == 0:
            return
        try:
            convert(part)
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        if len(part) == 1:
            found.append(offset)
            return
        mid = len(part) // 2
        visit(offset, part.slice(0, mid))
        visit(offset + mid, part.slice(mid))

    visit(0, values)
    return found


def _show(scalar) -> str:
    value = scalar.as_py() if hasattr(scalar, "as_py") else scalar
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
