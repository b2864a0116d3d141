"""Per-segment statistics for probable causes: counts, mean prediction, error and label per segment.

A segment is a reference decile of a numeric feature (``width_bucket`` on the stored deciles), a
category of a categorical one, or the feature's missing values (segment NULL). A model's declared segment
fields (docs/segments.md) are counted as categorical ones under the field's name (``region``), their values
as categories (``seg[slot]``; a row without one, or stored before the field was declared, is missing), so a
cause may name a segment value. The statistics are
sums, so they merge by addition: they are counted once per hour (by the labels step, which
recomputes every hour touched by new rows or labels) and once for the reference, and a cause
merges the stored hours of its window; no cause ever scans raw rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from seia.schema import Model
from seia.segment_rows import segment_fields
from seia_drift.layout import Layout
from seia_drift.repositories.sketches import _copy_text
from seia_drift.repositories.sources import Source

NULL = "\\N"  # COPY's text format

# Grouped by hour (NULL for the reference); multiclass models also by predicted and actual class.
SEGMENT_STATS = """
    SELECT src.hour, 'numeric' AS kind, u.i AS position,
           CASE WHEN u.v IS NULL OR u.v = 'NaN'::float8 OR abs(u.v) = 'Infinity'::float8 THEN NULL
                ELSE width_bucket(u.v, {segments})::text END AS segment,
           {classes} count(*) AS n_rows, sum({pred}) AS pred_sum, count({pred}) AS pred_n,
           count(*) FILTER (WHERE {labeled}) AS labeled, sum({err}) FILTER (WHERE {labeled}) AS err_sum,
           sum({y}) FILTER (WHERE {labeled}) AS y_sum
    FROM src, unnest(src.num) WITH ORDINALITY AS u(v, i)
    WHERE u.i = ANY(%(numeric)s)
    GROUP BY {group}
    UNION ALL
    SELECT src.hour, 'categorical', u.j, u.c, {classes} count(*), sum({pred}), count({pred}),
           count(*) FILTER (WHERE {labeled}), sum({err}) FILTER (WHERE {labeled}), sum({y}) FILTER (WHERE {labeled})
    FROM src, unnest(src.cat) WITH ORDINALITY AS u(c, j)
    WHERE u.j = ANY(%(categorical)s)
    GROUP BY {group}"""
# The model's segment fields (slots 1..n of seg[]): every row, its value or NULL.
SEGMENT_FIELD_STATS = """
    UNION ALL
    SELECT src.hour, 'field', u.k, src.seg[u.k], {classes} count(*), sum({pred}), count({pred}),
           count(*) FILTER (WHERE {labeled}), sum({err}) FILTER (WHERE {labeled}), sum({y}) FILTER (WHERE {labeled})
    FROM src, unnest(%(fields)s::int[]) AS u(k)
    GROUP BY {group}"""

_EXPRESSIONS = {
    "binary_classification": {
        "pred": "coalesce(src.score, (src.prediction_label = %(focus)s)::int)",
        "labeled": "src.label IS NOT NULL",
        "err": "(src.label <> src.prediction_label)::int",
        "y": "(src.label = %(focus)s)::int",
    },
    # per-class counts travel in `classes`; the focus class is chosen when an alert is explained
    "multiclass_classification": {
        "pred": "(src.prediction_label IS NOT NULL)::int",
        "labeled": "src.label IS NOT NULL",
        "err": "(src.label <> src.prediction_label)::int",
        "y": "0",
    },
    "regression": {
        "pred": "src.prediction_value",
        "labeled": "src.label_value IS NOT NULL AND src.prediction_value IS NOT NULL",
        "err": "abs(src.prediction_value - src.label_value)",
        "y": "src.label_value",
    },
}

# The prediction a row adds to its segments (pred_sum, pred_n) where the profile step counts the
# segments of new rows (binary and regression; multiclass segments carry per-class counts and are
# always recomputed by the labels step). The same expressions as in SEGMENT_STATS, over ``p``.
SEGMENT_PREDICTION = {
    "binary_classification": "coalesce(p.score, (p.prediction_label = %(focus)s)::int)",
    "regression": "p.prediction_value",
}

# Counted and stored in one statement (no row travels to Python): binary and regression models.
STORE_HOURS = """
    INSERT INTO drift_segments_hourly (model_id, hour, feature, segment, rows, pred_sum, pred_n, labeled, err_sum, y_sum)
    SELECT %(model)s, s.hour,
           CASE s.kind WHEN 'numeric' THEN (%(numeric_names)s::text[])[s.position]
                       WHEN 'field' THEN (%(field_names)s::text[])[s.position]
                       ELSE (%(categorical_names)s::text[])[s.position] END,
           s.segment, s.n_rows, coalesce(s.pred_sum, 0), s.pred_n, s.labeled, coalesce(s.err_sum, 0),
           coalesce(s.y_sum, 0)
    FROM ({stats}) s"""

Key = tuple[str, str | None]  # (feature, segment)


@dataclass
class SegmentStats:
    rows: int = 0
    pred_sum: float = 0.0
    pred_n: int = 0
    labeled: int = 0
    err_sum: float = 0.0
    y_sum: float = 0.0
    classes: dict[str, list[int]] | None = field(default=None)  # multiclass: {class: [predicted, labelled]}

    def add(self, other: SegmentStats) -> None:
        self.rows += other.rows
        self.pred_sum += other.pred_sum
        self.pred_n += other.pred_n
        self.labeled += other.labeled
        self.err_sum += other.err_sum
        self.y_sum += other.y_sum
        if other.classes:
            mine = self.classes if self.classes is not None else {}
            for c, (p, y) in other.classes.items():
                have = mine.setdefault(c, [0, 0])
                have[0] += p
                have[1] += y
            self.classes = mine

    def focused(self, focus: str | None) -> SegmentStats:
        """Multiclass: the predicted and label shares of the class of interest as pred_sum, y_sum."""
        if self.classes is None or focus is None:
            return self
        p, y = self.classes.get(focus, (0, 0))
        return replace(self, pred_sum=float(p), y_sum=float(y))


class SegmentRepository:
    DELETE_HOURS = "DELETE FROM drift_segments_hourly WHERE model_id = %s AND hour = ANY(%s)"
    INSERT_HOURLY = """
        INSERT INTO drift_segments_hourly (model_id, hour, feature, segment, rows, pred_sum, pred_n, labeled,
                                           err_sum, y_sum, classes)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
    INSERT_REFERENCE = """
        INSERT INTO drift_segments_reference (model_id, feature, segment, rows, pred_sum, pred_n, labeled,
                                              err_sum, y_sum, classes)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
    DELETE_REFERENCE = "DELETE FROM drift_segments_reference WHERE model_id = %s"
    # Merged in the database: one row per (feature, segment) whatever the window's length.
    # Per window of a list of disjoint ranges [s, e): each hour is joined to at most one of them.
    WINDOW = """
        SELECT w.s, feature, segment, sum(rows), sum(pred_sum), sum(pred_n), sum(labeled), sum(err_sum), sum(y_sum)
        FROM drift_segments_hourly h JOIN unnest(%s::timestamptz[], %s::timestamptz[]) AS w(s, e)
             ON h.hour >= w.s AND h.hour < w.e
        WHERE h.model_id = %s GROUP BY 1, 2, 3"""
    WINDOW_CLASSES = """
        SELECT w.s, feature, segment, c.key, sum((c.value ->> 0)::bigint), sum((c.value ->> 1)::bigint)
        FROM drift_segments_hourly h JOIN unnest(%s::timestamptz[], %s::timestamptz[]) AS w(s, e)
             ON h.hour >= w.s AND h.hour < w.e, jsonb_each(h.classes) AS c
        WHERE h.model_id = %s AND h.classes IS NOT NULL GROUP BY 1, 2, 3, 4"""
    REFERENCE = """
        SELECT feature, segment, rows, pred_sum, pred_n, labeled, err_sum, y_sum, classes
        FROM drift_segments_reference WHERE model_id = %s"""
    HAS_REFERENCE = "SELECT EXISTS (SELECT 1 FROM drift_segments_reference WHERE model_id = %s)"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    # -- counting (from rows) ------------------------------------------------------------------
    def compute(
        self, model: Model, layout: Layout, source: Source, segments: dict[int, list[float]]
    ) -> dict[datetime | None, dict[Key, SegmentStats]]:
        """{hour: {(feature, segment): stats}} over the source's rows (hour None for the reference).

        ``segments`` are the reference deciles per numeric feature position.
        """
        query, params = self._query(model, layout, source, segments)
        if query is None:
            return {}
        multiclass = model.task == "multiclass_classification"
        numeric = {s.position: s.feature for s in layout.numeric if s.source == "feature"}
        categorical = {s.position: s.feature for s in layout.categorical if s.source == "feature"}
        fields = dict(enumerate(segment_fields(model), 1))
        out: dict[datetime | None, dict[Key, SegmentStats]] = {}
        for row in self.conn.execute(source.cte() + query, params):
            hour, kind, position, segment = row[:4]
            if multiclass:
                predicted, label = row[4:6]
                row = row[6:]
            else:
                row = row[4:]
            rows, pred_sum, pred_n, labeled, err_sum, y_sum = row
            feature = {"numeric": numeric, "field": fields}.get(kind, categorical)[position]
            st = SegmentStats(rows, float(pred_sum or 0), pred_n, labeled or 0, float(err_sum or 0), float(y_sum or 0))
            if multiclass:
                st.classes = {}
                if predicted is not None:
                    st.classes.setdefault(predicted, [0, 0])[0] += rows
                if label is not None:
                    st.classes.setdefault(label, [0, 0])[1] += labeled or 0
            have = out.setdefault(hour, {}).get((feature, segment))
            if have is None:
                out[hour][(feature, segment)] = st
            else:
                have.add(st)
        return out

    def _query(
        self, model: Model, layout: Layout, source: Source, segments: dict[int, list[float]]
    ) -> tuple[sql.Composed, dict[str, Any]] | tuple[None, None]:
        e = _EXPRESSIONS[model.task]
        multiclass = model.task == "multiclass_classification"
        numeric = [s.position for s in layout.numeric if s.source == "feature"]
        categorical = [s.position for s in layout.categorical if s.source == "feature"]
        fields = list(range(1, len(segment_fields(model)) + 1))
        if not numeric and not categorical and not fields:
            return None, None
        case: sql.Composable
        if segments:
            case = sql.SQL("CASE u.i {} END").format(
                sql.SQL(" ").join(
                    sql.SQL("WHEN {} THEN {}::float8[]").format(sql.Literal(pos), sql.Placeholder(f"s{pos}"))
                    for pos in sorted(segments)
                )
            )
        else:
            case = sql.SQL("ARRAY[0]::float8[]")
        query = sql.SQL(SEGMENT_STATS + (SEGMENT_FIELD_STATS if fields else "")).format(
            segments=case,
            classes=sql.SQL("src.prediction_label, src.label," if multiclass else ""),
            group=sql.SQL("1, 2, 3, 4, 5, 6" if multiclass else "1, 2, 3, 4"),
            **{k: sql.SQL(v) for k, v in e.items()},
        )
        params = (
            source.params
            | {"focus": model.positive_label, "numeric": numeric, "categorical": categorical, "fields": fields}
            | {f"s{pos}": s for pos, s in segments.items()}
        )
        return query, params

    def store_hours(
        self,
        model: Model,
        layout: Layout,
        source: Source,
        segments: dict[int, list[float]],
        hours: list[datetime],
    ) -> None:
        """Replace the segments of every listed hour by those counted over the source's rows."""
        if model.task == "multiclass_classification":
            # a source over hours: every key is an hour (None is only the reference's)
            by_hour = cast("dict[datetime, dict[Key, SegmentStats]]", self.compute(model, layout, source, segments))
            self.replace_hours(model.id, hours, by_hour)
            return
        self.conn.execute(self.DELETE_HOURS, (model.id, hours))
        query, params = self._query(model, layout, source, segments)
        if query is None:
            return
        assert params is not None  # _query returns both or neither
        names = {
            "numeric_names": [s.feature for s in sorted(layout.numeric, key=lambda s: s.position)],
            "categorical_names": [s.feature for s in sorted(layout.categorical, key=lambda s: s.position)],
            "field_names": segment_fields(model),
        }
        self.conn.execute(source.cte() + sql.SQL(STORE_HOURS).format(stats=query), params | names | {"model": model.id})

    def compute_reference(
        self, model: Model, layout: Layout, source: Source, segments: dict[int, list[float]]
    ) -> dict[Key, SegmentStats]:
        """The source's segments over all its rows (a reference window spans many hours)."""
        out: dict[Key, SegmentStats] = {}
        for values in self.compute(model, layout, source, segments).values():
            for key, st in values.items():
                if key in out:
                    out[key].add(st)
                else:
                    out[key] = st
        return out

    # -- storing -------------------------------------------------------------------------------
    def replace_hours(
        self, model_id: int, hours: list[datetime], values: dict[datetime, dict[Key, SegmentStats]]
    ) -> None:
        """Every listed hour's segments replaced by ``values[hour]`` (none when absent)."""
        self.conn.execute(self.DELETE_HOURS, (model_id, hours))
        with self.conn.cursor() as cur:
            cur.executemany(
                self.INSERT_HOURLY,
                [
                    (model_id, hour, feature, segment, *_columns(st))
                    for hour in sorted(values)
                    for (feature, segment), st in values[hour].items()
                ],
            )

    EXISTING_HOURS = """
        SELECT hour, feature, segment, rows, pred_sum, pred_n, labeled, err_sum, y_sum FROM drift_segments_hourly
        WHERE model_id = %s AND hour = ANY(%s)"""
    STAGE = """
        CREATE TEMP TABLE IF NOT EXISTS stage_segments (hour timestamptz, feature text, segment text, rows bigint,
                                                        pred_sum float8, pred_n bigint, labeled bigint,
                                                        err_sum float8, y_sum float8) ON COMMIT DELETE ROWS"""
    INSERT_STAGED = """
        INSERT INTO drift_segments_hourly (model_id, hour, feature, segment, rows, pred_sum, pred_n, labeled,
                                           err_sum, y_sum)
        SELECT %s, hour, feature, segment, rows, pred_sum, pred_n, labeled, err_sum, y_sum FROM stage_segments"""

    def add_hours(self, model_id: int, counts: list[tuple[datetime, str, str | None, int, float, int]]) -> None:
        """Add (hour, feature, segment, rows, pred_sum, pred_n) counts of rows without labels to the stored
        hours (binary and regression models: no per-class counts). The hours' rows are read, summed with
        the counts, and written back whole (COPY), so a key stays one row."""
        if not counts:
            return
        hours = sorted({c[0] for c in counts})
        merged: dict[tuple[datetime, str, str | None], list[Any]] = {}
        for hour, feature, segment, *values in self.conn.execute(self.EXISTING_HOURS, (model_id, hours)):
            merged[(hour, feature, segment)] = values
        for hour, feature, segment, rows, pred_sum, pred_n in counts:
            have = merged.get((hour, feature, segment))
            if have is None:
                merged[(hour, feature, segment)] = [rows, pred_sum, pred_n, 0, 0.0, 0.0]
            else:
                have[0] += rows
                have[1] += pred_sum
                have[2] += pred_n
        self.conn.execute(self.DELETE_HOURS, (model_id, hours))
        self.conn.execute(self.STAGE)
        texts: dict[Any, str] = {None: NULL}  # each hour, feature and segment written out once
        for hour in hours:
            texts[hour] = hour.isoformat()

        def text(value: str | None) -> str:
            out = texts.get(value)
            if out is None:
                assert value is not None  # None is in texts
                out = texts[value] = _copy_text(value)
            return out

        lines = [
            f"{texts[hour]}\t{text(feature)}\t{text(segment)}\t"
            f"{int(rows)}\t{float(pred_sum)!r}\t{int(pred_n)}\t{int(labeled)}\t{float(err_sum)!r}\t{float(y_sum)!r}\n"
            for (hour, feature, segment), (rows, pred_sum, pred_n, labeled, err_sum, y_sum) in merged.items()
        ]
        with self.conn.cursor() as cur, cur.copy("COPY stage_segments FROM STDIN") as copy:
            for i in range(0, len(lines), 2000):  # a few large writes, not a round of the protocol per row
                copy.write("".join(lines[i : i + 2000]))
        self.conn.execute(self.INSERT_STAGED, (model_id,))
        self.conn.execute("DELETE FROM stage_segments")

    def replace_reference(self, model_id: int, values: dict[Key, SegmentStats]) -> None:
        self.conn.execute(self.DELETE_REFERENCE, (model_id,))
        with self.conn.cursor() as cur:
            cur.executemany(
                self.INSERT_REFERENCE,
                [(model_id, feature, segment, *_columns(st)) for (feature, segment), st in values.items()],
            )

    # -- reading (merges of stored rows) -------------------------------------------------------
    def has_reference(self, model_id: int) -> bool:
        row = self.conn.execute(self.HAS_REFERENCE, (model_id,)).fetchone()
        assert row is not None  # SELECT EXISTS returns exactly one row
        return bool(row[0])  # already a bool (EXISTS)

    def reference(self, model_id: int) -> dict[Key, SegmentStats]:
        return {
            (f, s): SegmentStats(rows, pred_sum, pred_n, labeled, err_sum, y_sum, classes)
            for f, s, rows, pred_sum, pred_n, labeled, err_sum, y_sum, classes in self.conn.execute(
                self.REFERENCE, (model_id,)
            )
        }

    def window(self, model_id: int, start: datetime, end: datetime, multiclass: bool) -> dict[Key, SegmentStats]:
        """The merged segments of the stored hours in [start, end)."""
        return self.windows(model_id, [(start, end)], multiclass).get(start, {})

    def windows(
        self, model_id: int, ranges: list[tuple[datetime, datetime]], multiclass: bool
    ) -> dict[datetime, dict[Key, SegmentStats]]:
        """The merged segments of the stored hours of each disjoint range [start, end), by start: one query
        for all of them."""
        args = ([r[0] for r in ranges], [r[1] for r in ranges], model_id)
        out: dict[datetime, dict[Key, SegmentStats]] = {}
        for w, f, s, rows, pred_sum, pred_n, labeled, err_sum, y_sum in self.conn.execute(self.WINDOW, args):
            out.setdefault(w, {})[(f, s)] = SegmentStats(int(rows), pred_sum, int(pred_n), int(labeled), err_sum, y_sum)
        if multiclass:
            for w, f, s, c, predicted, labelled in self.conn.execute(self.WINDOW_CLASSES, args):
                st = out.get(w, {}).get((f, s))
                if st is not None:
                    st.classes = (st.classes or {}) | {c: [int(predicted), int(labelled)]}
        return out


def _columns(st: SegmentStats) -> tuple[Any, ...]:
    return (
        st.rows,
        st.pred_sum,
        st.pred_n,
        st.labeled,
        st.err_sum,
        st.y_sum,
        Jsonb(st.classes) if st.classes is not None else None,
    )
