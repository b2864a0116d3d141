"""Row sources the engine reads: the uploaded reference, a time range of predictions with labels.

Every source yields the same columns, so the reference, the hourly statistics and the cause
segments are computed by the same SQL whichever rows they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from seia.segment_rows import Rows
from seia.timeutil import EARLIEST, LATEST

# Rows whose timestamp today's rules accept. An older version stored any year PostgreSQL takes (year 0,
# year 10000), which Python cannot read back: every raw read of predictions skips those rows, and
# the audit step counts them in a data-quality finding.
TS_IN_RANGE = f"p.ts >= '{EARLIEST.isoformat()}' AND p.ts < '{LATEST.isoformat()}'"
# The same test on the row's hour (the bounds are whole hours), which no index on ts can serve: for
# queries that find rows by xid, seq or a join on prediction_id. Given the plain range there, the
# planner took the (model_id, ts) index for the whole range and, joined to the labels, scanned every
# row of the model once per label (73 s for 26k labels on the demo's history).
HOUR_IN_RANGE = (
    f"date_trunc('hour', p.ts, 'UTC') >= '{EARLIEST.isoformat()}' "
    f"AND date_trunc('hour', p.ts, 'UTC') < '{LATEST.isoformat()}'"
)
TS_OUT_OF_RANGE = f"NOT ({TS_IN_RANGE})"

# The rows of transactions in [lo, hi) are found by `(p.xid::text)::bigint`, the expression the block-range
# index of predictions holds (tenant migration 0014: xid8 has no BRIN operator class); written otherwise, the
# planner cannot use that index and reads every row of the model. Where a time range picks the rows and the
# horizon only leaves out newer transactions (below), the plain `p.xid < horizon` is kept: no index needed.
# ground_truths keeps its B-tree on xid8 (its rows are re-stamped on correction, not in xid order).


COLUMNS = "hour, num, cat, prediction_label, prediction_value, score, label, label_value, scores, seg"

UPLOADED_REFERENCE = """
    SELECT NULL::timestamptz AS hour, num, cat, prediction_label, prediction_value, score, label, label_value,
           scores, seg
    FROM reference_rows r WHERE r.model_id = %(model)s{seg}"""

# Predictions of [start, end) with their labels; only transactions below the horizon.
PREDICTIONS_RANGE = """
    SELECT date_trunc('hour', p.ts, 'UTC') AS hour, p.num, p.cat, p.prediction_label, p.prediction_value,
           p.score, g.label, g.label_value, p.scores, p.seg
    FROM predictions p
    LEFT JOIN ground_truths g ON g.model_id = p.model_id AND g.prediction_id = p.prediction_id
    WHERE p.model_id = %(model)s{seg} AND p.ts >= %(start)s AND p.ts < %(end)s
      AND p.xid < %(horizon)s::text::xid8"""

# The same, restricted to some hours (the hours new rows or labels touched).
PREDICTIONS_HOURS = (
    PREDICTIONS_RANGE
    + """
      AND date_trunc('hour', p.ts, 'UTC') = ANY(%(hours)s)"""
)

__all__ = ["Rows", "Source", "predictions", "uploaded_reference"]

UNBOUNDED = 2**62  # a horizon above every transaction id: everything committed


@dataclass(frozen=True)
class Source:
    """A row source: SQL text and its parameters."""

    text: str
    params: dict[str, Any]

    def cte(self) -> sql.Composable:
        return sql.SQL("WITH src AS (") + sql.SQL(self.text) + sql.SQL(")\n")


def uploaded_reference(rows: Rows) -> Source:
    return Source(rows.sql(UPLOADED_REFERENCE, "r"), rows.params)


def predictions(
    rows: Rows, start: datetime, end: datetime, horizon: int = UNBOUNDED, hours: list[datetime] | None = None
) -> Source:
    params = rows.params | {"start": start, "end": end, "horizon": str(horizon)}
    if hours is None:
        return Source(rows.sql(PREDICTIONS_RANGE), params)
    return Source(rows.sql(PREDICTIONS_HOURS), params | {"hours": hours})
