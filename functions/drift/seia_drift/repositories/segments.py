"""Per-segment statistics for probable causes: counts, mean prediction, error and label per segment.

A segment is a reference decile of a numeric feature (``width_bucket`` on the stored deciles), a
category of a categorical one, or the feature's missing values (segment NULL).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from seia.schema import Model
from seia_drift.repositories.sources import Source

SEGMENT_STATS = """
    SELECT 'numeric' AS kind, u.i AS position,
           CASE WHEN u.v IS NULL OR u.v = 'NaN'::float8 OR abs(u.v) = 'Infinity'::float8 THEN NULL
                ELSE width_bucket(u.v, {segments})::text END AS segment,
           count(*), sum({pred}), count({pred}), count(*) FILTER (WHERE {labeled}),
           sum({err}) FILTER (WHERE {labeled}), sum({y}) FILTER (WHERE {labeled})
    FROM src, unnest(src.num) WITH ORDINALITY AS u(v, i)
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT 'categorical', u.j, u.c, count(*), sum({pred}), count({pred}), count(*) FILTER (WHERE {labeled}),
           sum({err}) FILTER (WHERE {labeled}), sum({y}) FILTER (WHERE {labeled})
    FROM src, unnest(src.cat) WITH ORDINALITY AS u(c, j)
    GROUP BY 1, 2, 3"""

_EXPRESSIONS = {
    "binary_classification": {
        "pred": "coalesce(src.score, (src.prediction_label = %(focus)s)::int)",
        "labeled": "src.label IS NOT NULL",
        "err": "(src.label <> src.prediction_label)::int",
        "y": "(src.label = %(focus)s)::int",
    },
    "multiclass_classification": {
        "pred": "(src.prediction_label = %(focus)s)::int",
        "labeled": "src.label IS NOT NULL",
        "err": "(src.label <> src.prediction_label)::int",
        "y": "(src.label = %(focus)s)::int",
    },
    "regression": {
        "pred": "src.prediction_value",
        "labeled": "src.label_value IS NOT NULL AND src.prediction_value IS NOT NULL",
        "err": "abs(src.prediction_value - src.label_value)",
        "y": "src.label_value",
    },
}


@dataclass
class SegmentStats:
    rows: int = 0
    pred_sum: float = 0.0
    pred_n: int = 0
    labeled: int = 0
    err_sum: float = 0.0
    y_sum: float = 0.0


class SegmentRepository:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def stats(
        self, model: Model, source: Source, segments: dict[int, list[float]], focus: str | None
    ) -> dict[tuple[str, int, str | None], SegmentStats]:
        """{(kind, position, segment): stats} over the source; ``focus`` is the class of interest."""
        e = _EXPRESSIONS[model.task]
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
        query = source.cte() + sql.SQL(SEGMENT_STATS).format(segments=case, **{k: sql.SQL(v) for k, v in e.items()})
        params = source.params | {"focus": focus} | {f"s{pos}": s for pos, s in segments.items()}
        out = {}
        for kind, position, segment, rows, pred_sum, pred_n, labeled, err_sum, y_sum in self.conn.execute(
            query, params
        ):
            out[(kind, position, segment)] = SegmentStats(
                rows, float(pred_sum or 0), pred_n, labeled or 0, float(err_sum or 0), float(y_sum or 0)
            )
        return out
