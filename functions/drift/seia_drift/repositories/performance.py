"""Performance statistics per hour (or of the reference), computed in SQL from rows and labels."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from seia.schema import Model
from seia.sparse import pack_performance
from seia_drift import estimation, performance
from seia_drift.repositories.sources import HOUR_IN_RANGE, Rows, Source

LOG_LOSS_EPS = 1e-15


class PerformanceRepository:
    ROWS = "SELECT hour, count(*), count(label) + count(label_value) FROM src GROUP BY hour"
    BINARY = """
        SELECT hour, label, prediction_label, width_bucket(score, %(score_edges)s) AS bucket, count(*),
               sum(-ln(CASE WHEN label = %(positive)s THEN greatest(least(score, 1 - %(eps)s), %(eps)s)
                            ELSE 1 - greatest(least(score, 1 - %(eps)s), %(eps)s) END))
        FROM src WHERE label IS NOT NULL GROUP BY 1, 2, 3, 4"""
    MULTICLASS = "SELECT hour, label, prediction_label, count(*) FROM src WHERE label IS NOT NULL GROUP BY 1, 2, 3"
    # Squares guarded as in the sketches: PostgreSQL raises on float8 underflow and overflow.
    REGRESSION = """
        SELECT hour, count(*), sum(abs(e)),
               sum(CASE WHEN abs(e) < 1e-150 OR NOT abs(e) < 1e150 THEN 0 ELSE e * e END), sum(y),
               sum(CASE WHEN abs(y) < 1e-150 OR NOT abs(y) < 1e150 THEN 0 ELSE y * y END)
        FROM (SELECT hour, prediction_value - label_value AS e, label_value AS y FROM src
              WHERE label_value IS NOT NULL AND prediction_value IS NOT NULL) d
        GROUP BY 1"""
    UPSERT_HOURLY = """
        INSERT INTO drift_performance_hourly (model_id, hour, rows, labeled, stats) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (model_id, hour) DO UPDATE
           SET rows = EXCLUDED.rows, labeled = EXCLUDED.labeled, stats = EXCLUDED.stats,
               change = nextval('drift_change_seq')"""
    DELETE_HOURLY = "DELETE FROM drift_performance_hourly WHERE model_id = %s AND hour = ANY(%s)"
    TOUCHED = """
        SELECT DISTINCT date_trunc('hour', p.ts, 'UTC') FROM predictions p
        WHERE p.model_id = %(model)s{seg} AND (p.xid::text)::bigint >= %(lo)s::bigint AND (p.xid::text)::bigint < %(hi)s::bigint
          AND {in_range}
        UNION
        SELECT DISTINCT date_trunc('hour', p.ts, 'UTC') FROM ground_truths g
        JOIN prediction_keys p ON p.model_id = g.model_id AND p.prediction_id = g.prediction_id
        WHERE g.model_id = %(model)s AND g.xid >= %(lo)s::text::xid8 AND g.xid < %(hi)s::text::xid8
          AND {in_range}
        ORDER BY 1""".replace("{in_range}", HOUR_IN_RANGE)
    # Hours whose segments count labels: of new or corrected labels, and of new rows that have a label.
    LABELED = """
        SELECT DISTINCT date_trunc('hour', p.ts, 'UTC') FROM predictions p
        JOIN ground_truths g ON g.model_id = p.model_id AND g.prediction_id = p.prediction_id
        WHERE p.model_id = %(model)s{seg} AND (p.xid::text)::bigint >= %(lo)s::bigint AND (p.xid::text)::bigint < %(hi)s::bigint
          AND {in_range}
        UNION
        SELECT DISTINCT date_trunc('hour', p.ts, 'UTC') FROM ground_truths g
        JOIN prediction_keys p ON p.model_id = g.model_id AND p.prediction_id = g.prediction_id
        WHERE g.model_id = %(model)s AND g.xid >= %(lo)s::text::xid8 AND g.xid < %(hi)s::text::xid8
          AND {in_range}
        ORDER BY 1""".replace("{in_range}", HOUR_IN_RANGE)
    WINDOWS = """
        SELECT DISTINCT date_trunc(%s, hour, 'UTC') FROM drift_performance_hourly
        WHERE model_id = %s AND change > %s ORDER BY 1"""
    MAX_CHANGE = "SELECT coalesce(max(change), 0) FROM drift_performance_hourly WHERE model_id = %s"
    WINDOW = """
        SELECT rows, labeled, stats FROM drift_performance_hourly
        WHERE model_id = %s AND hour >= %s AND hour < %s ORDER BY hour"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def touched_hours(self, rows: Rows, lo: int, hi: int) -> list[datetime]:
        """Hours of new rows, and of rows whose label is new: for a segment model, the second are its
        parent's (labels carry no segment value), a superset that only costs recounting."""
        found = self.conn.execute(rows.sql(self.TOUCHED), rows.params | {"lo": str(lo), "hi": str(hi)}).fetchall()
        return [r[0] for r in found]

    def labeled_hours(self, rows: Rows, lo: int, hi: int) -> list[datetime]:
        found = self.conn.execute(rows.sql(self.LABELED), rows.params | {"lo": str(lo), "hi": str(hi)}).fetchall()
        return [r[0] for r in found]

    def compute(
        self, model: Model, source: Source, packed: bool = False, fit: dict[str, Any] | None = None
    ) -> dict[datetime, tuple[Any, ...]]:
        """{hour: (rows, labeled, stats or None, label_groups)} over the source; ``packed``: binary
        statistics in their stored form (:mod:`seia.sparse`), for :meth:`replace_hours`.

        ``label_groups`` are (label, n) pairs of classification labels, for the label sketch. With the
        reference's estimation ``fit`` (:func:`seia_drift.estimation.fit_reference`), each hour's
        statistics also hold ``estimated`` (over all its rows with scores, labelled or not).
        """
        cte = source.cte()
        counted = self.conn.execute(cte + sql.SQL(self.ROWS), source.params)
        out = {h: [rows, labeled, None, []] for h, rows, labeled in counted}
        # a classification model is registered with its labels (validated), so positive and labels are set
        if model.task == "binary_classification":
            positive = model.positive_label
            assert positive is not None
            params = source.params | {
                "score_edges": list(performance.SCORE_EDGES),
                "positive": positive,
                "eps": LOG_LOSS_EPS,
            }
            groups: dict[datetime, list[tuple[Any, ...]]] = {}
            for hour, label, predicted, bucket, n, ll in self.conn.execute(cte + sql.SQL(self.BINARY), params):
                groups.setdefault(hour, []).append((label, predicted, bucket, n, ll))
            for hour, g in groups.items():
                out[hour][2] = performance.binary_stats(g, positive, packed=packed)
                out[hour][3] = _label_counts((label, n) for label, _, _, n, _ in g)
        elif model.task == "multiclass_classification":
            labels = model.labels
            assert labels is not None
            groups = {}
            for hour, label, predicted, n in self.conn.execute(cte + sql.SQL(self.MULTICLASS), source.params):
                groups.setdefault(hour, []).append((label, predicted, n))
            for hour, g in groups.items():
                out[hour][2] = performance.multiclass_stats(g, labels)
                out[hour][3] = _label_counts((label, n) for label, _, n in g)
        else:
            for hour, *sums in self.conn.execute(cte + sql.SQL(self.REGRESSION), source.params):
                out[hour][2] = performance.regression_stats(tuple(sums))
        if fit is not None and model.task in ("binary_classification", "multiclass_classification"):
            for hour, est in self.estimate(source, fit).items():
                if hour in out:
                    stats = out[hour][2]
                    out[hour][2] = (stats or {}) | {"estimated": est}
        return {h: tuple(v) for h, v in out.items()}

    ESTIMATION_ROWS = """
        SELECT score, scores, prediction_label, label FROM src
        WHERE label IS NOT NULL AND prediction_label IS NOT NULL"""

    def fit_estimation(self, model: Model, source: Source) -> dict[str, Any] | None:
        """The reference's calibration and sampling-error components (:mod:`seia_drift.estimation`),
        from its labelled rows with scores; None for regression or too few such rows."""
        import numpy as np

        if model.task == "binary_classification":
            assert model.positive_label is not None  # validated at registration
            classes: list[str] = [model.positive_label]
        elif model.task == "multiclass_classification":
            assert model.labels is not None
            classes = list(model.labels)
        else:
            return None
        scores, predicted, actual = [], [], []
        with self.conn.cursor(binary=True) as cur:
            for score, vector, pred, label in cur.execute(source.cte() + sql.SQL(self.ESTIMATION_ROWS), source.params):
                row = [score] if len(classes) == 1 else vector
                if row is None or len(row) != len(classes) or any(v is None for v in row):
                    continue
                scores.append(row)
                predicted.append(pred)
                actual.append(label)
        if len(actual) < estimation.MIN_REFERENCE_ROWS or len(set(actual)) < 2:
            return None
        return estimation.fit_reference(
            model.task, classes, np.asarray(scores, dtype=float), np.asarray(predicted), np.asarray(actual)
        )

    def estimate(self, source: Source, fit: dict[str, Any]) -> dict[datetime, dict[str, Any]]:
        """{hour: estimation statistics (:mod:`seia.stats.estimation`)} of the source's rows with scores
        and a prediction: each class's calibrated probability (multiclass: normalised over the
        classes) summed per raw-score bin, over the rows predicted as that class and the others."""
        classes = list(fit["classes"])
        k = len(classes)
        raw: list[sql.Composable]
        where: sql.Composable
        p: sql.Composable
        if fit["task"] == "binary_classification":
            raw = [sql.SQL("src.score")]
            where = sql.SQL("src.score IS NOT NULL")
        else:
            raw = [sql.SQL("src.scores[{}]").format(sql.Literal(i + 1)) for i in range(k)]
            where = sql.SQL("cardinality(src.scores) = {} AND array_position(src.scores, NULL) IS NULL").format(
                sql.Literal(k)
            )
        calibrated = [estimation.calibrated_sql(r, m) for r, m in zip(raw, fit["calibration"], strict=True)]
        if fit["task"] == "binary_classification":
            p = sql.SQL("c")
        else:
            p = sql.SQL(
                "CASE WHEN t > 0 THEN ARRAY(SELECT v / t FROM unnest(c) WITH ORDINALITY u(v, o) ORDER BY o)"
                " ELSE array_fill(1.0::float8 / {k}, ARRAY[{k}]) END"
            ).format(k=sql.Literal(k))
        query = source.cte() + sql.SQL(
            """SELECT hour, i, width_bucket(s[i], {edges}::float8[]) AS bucket, count(*), sum(p[i]),
                      count(*) FILTER (WHERE pred = ({classes}::text[])[i]),
                      coalesce(sum(p[i]) FILTER (WHERE pred = ({classes}::text[])[i]), 0),
                      coalesce(sum(p[i]) FILTER (WHERE pred IS DISTINCT FROM ({classes}::text[])[i]), 0)
               FROM (SELECT hour, pred, s, {p} AS p FROM (
                       SELECT hour, pred, s, c, (SELECT sum(v) FROM unnest(c) v) AS t FROM (
                         SELECT src.hour, src.prediction_label AS pred, ARRAY[{raw}]::float8[] AS s,
                                ARRAY[{calibrated}]::float8[] AS c
                         FROM src WHERE {where} AND src.prediction_label IS NOT NULL) r0) r1) r
               CROSS JOIN generate_series(1, {k}) i
               GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
        ).format(
            edges=sql.Literal(list(estimation.ESTIMATE_EDGES.tolist())),
            classes=sql.Literal(classes),
            p=p,
            raw=sql.SQL(", ").join(raw),
            calibrated=sql.SQL(", ").join(calibrated),
            where=where,
            k=sql.Literal(k),
        )
        out: dict[datetime, dict[str, Any]] = {}
        for hour, i, bucket, n, expected, pred, tp, fn in self.conn.execute(query, source.params):
            hour_stats = out.setdefault(
                hour,
                {
                    "n": 0,
                    "classes": [
                        {
                            "pred": 0,
                            "tp": 0.0,
                            "fn": 0.0,
                            "size": estimation.ESTIMATE_BINS,
                            "bins": [],
                            "counts": [],
                            "expected": [],
                        }
                        for _ in classes
                    ],
                },
            )
            c = hour_stats["classes"][i - 1]
            c["pred"] += pred
            c["tp"] += tp
            c["fn"] += fn
            c["bins"].append(bucket)
            c["counts"].append(n)
            c["expected"].append(expected)
            if i == 1:
                hour_stats["n"] += n
        return out

    STAGE = """
        CREATE TEMP TABLE IF NOT EXISTS stage_performance (hour timestamptz, rows bigint, labeled bigint, stats jsonb)
        ON COMMIT DELETE ROWS"""
    UPSERT_STAGED = """
        INSERT INTO drift_performance_hourly (model_id, hour, rows, labeled, stats)
        SELECT %s, hour, rows, labeled, stats FROM stage_performance
        ON CONFLICT (model_id, hour) DO UPDATE
           SET rows = EXCLUDED.rows, labeled = EXCLUDED.labeled, stats = EXCLUDED.stats,
               change = nextval('drift_change_seq')"""

    def replace_hours(self, model_id: int, hours: list[datetime], values: dict[datetime, tuple[Any, ...]]) -> None:
        """Every listed hour's statistics replaced by ``values[hour]`` (none when absent), stored packed."""
        self.conn.execute(self.DELETE_HOURLY, (model_id, [h for h in hours if h not in values]))
        if len(values) < 50:
            with self.conn.cursor() as cur:
                cur.executemany(
                    self.UPSERT_HOURLY,
                    [
                        (model_id, h, rows, labeled, Jsonb(pack_performance(stats)) if stats else None)
                        for h, (rows, labeled, stats, _) in sorted(values.items())
                    ],
                )
            return
        # a backfill's thousands of hours: COPY into a staging table, then one upsert
        lines = [
            f"{h.isoformat()}\t{int(rows)}\t{int(labeled)}\t"
            + (
                json.dumps(pack_performance(stats), separators=(",", ":"), allow_nan=False).replace("\\", "\\\\")
                if stats
                else "\\N"
            )
            + "\n"
            for h, (rows, labeled, stats, _) in sorted(values.items())
        ]
        self.conn.execute(self.STAGE)
        with self.conn.cursor().copy("COPY stage_performance (hour, rows, labeled, stats) FROM STDIN") as copy:
            for i in range(0, len(lines), 500):
                copy.write("".join(lines[i : i + 500]))
        self.conn.execute(self.UPSERT_STAGED, (model_id,))
        self.conn.execute("DELETE FROM stage_performance")

    def changed_windows(self, model_id: int, granularity: str, change: int) -> tuple[list[datetime], int]:
        windows = [r[0] for r in self.conn.execute(self.WINDOWS, (granularity, model_id, change))]
        row = self.conn.execute(self.MAX_CHANGE, (model_id,)).fetchone()
        assert row is not None  # an aggregate without GROUP BY returns exactly one row
        return windows, row[0]

    HOURS = """
        SELECT hour, rows, labeled, stats FROM drift_performance_hourly
        WHERE model_id = %s AND hour >= %s AND hour < %s ORDER BY hour"""

    def hours(self, model_id: int, start: datetime, end: datetime) -> list[tuple[datetime, int, int, Any]]:
        """(hour, rows, labeled, statistics as stored) of each hour of [start, end), in time order."""
        return self.conn.execute(self.HOURS, (model_id, start, end)).fetchall()

    def window(self, model_id: int, start: datetime, end: datetime) -> tuple[int, int, dict[str, Any] | None]:
        hours = self.conn.execute(self.WINDOW, (model_id, start, end)).fetchall()
        rows = sum(r for r, _, _ in hours)
        labeled = sum(lab for _, lab, _ in hours)
        return rows, labeled, performance.merge_many(s for _, _, s in hours)


def _label_counts(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for label, n in pairs:
        counts[label] = counts.get(label, 0) + n
    return sorted(counts.items())
