"""Tenant migration 0014: predictions' xid B-tree and its two BRINs become one BRIN (ts, seq, xid as bigint).

A database filled at migration 0013 (several models, several leaves each, the engine's watermarks set) keeps
every row and its xid through the migration; the engine then takes the rows written after it, each once, and
its reads of new rows and the planner's check for them use the new index."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from psycopg import sql

from tests.support import scenarios

# The indexes of predictions as tenant migrations 0009 to 0013 leave them.
INDEXES_0013 = (
    "DROP INDEX predictions_brin",
    "CREATE INDEX predictions_ts ON predictions USING brin (ts) WITH (pages_per_range = 32)",
    "CREATE INDEX predictions_seq_brin ON predictions USING brin (seq) WITH (pages_per_range = 32)",
    "CREATE INDEX predictions_xid ON predictions (xid)",
    "DELETE FROM schema_migrations WHERE version >= 14",
)


def _back_to_0013(tenant) -> None:
    with tenant.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(tenant.tenant.role_name)))
        for statement in INDEXES_0013:
            conn.execute(statement)


def _leaf_indexes(conn) -> set[tuple[str, str]]:
    """(access method, columns) of every index on a leaf of predictions."""
    return {
        (r[0], r[1])
        for r in conn.execute(
            """SELECT a.amname, regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING \\w+ ', '')
               FROM raw_partitions p JOIN pg_index i ON i.indrelid = p.relname::regclass
               JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
               WHERE p.parent_table = 'predictions'"""
        )
    }


def _shifted(rows: list[tuple], days: int, prefix: str) -> list[tuple]:
    """The rows again with new ids, ``days`` earlier: another weekly leaf."""
    return [(f"{prefix}{r[0]}", r[1] - timedelta(days=days), *r[2:]) for r in rows]


def _add(tenant, model_id: int, rows: list[tuple]) -> None:
    from seia.repositories.records import PredictionRepository

    with tenant.connect() as conn, conn.transaction():
        assert PredictionRepository(conn).add(model_id, rows).accepted == len(rows)


def _sketched(reader, model_id: int) -> int:
    """Rows the engine has counted into the hourly sketches of one feature: each row once."""
    found = reader.query(
        "SELECT coalesce(sum(rows), 0) AS n FROM drift_sketches WHERE model_id = %s AND feature = 'x0'", (model_id,)
    )
    return int(found[0]["n"])


def test_the_migration_keeps_every_row_and_xid_and_the_engine_takes_new_rows_once(drift_tenant, engine, reader):
    from seia.migrate import apply, current_version

    _back_to_0013(drift_tenant)
    models = {}
    for n, name in enumerate(("brin-a", "brin-b")):
        data = scenarios.generate("covariate_shift", 11 + n)
        with drift_tenant.connect() as conn:
            scenarios.load(conn, name, dataclasses.replace(data, predictions=[], ground_truths=[]))
        models[name] = (reader.model_id(name), data.predictions)
    # at 0013: rows in three weekly leaves of each model, a run, then more rows the engine has not seen
    for name, (mid, rows) in models.items():
        _add(drift_tenant, mid, rows[:1000] + _shifted(rows[:300], 7, "w1-") + _shifted(rows[:300], 14, "w2-"))
        assert engine.run(drift_tenant.tenant, name)["profile"]["rows"] == 1600
        _add(drift_tenant, mid, rows[1000:1500])
    with drift_tenant.connect() as conn:
        assert current_version(conn) == 13
        assert ("btree", "(xid)") in _leaf_indexes(conn)
        before = conn.execute(
            "SELECT model_id, prediction_id, ts, seq, xid::text FROM predictions ORDER BY 1, 2"
        ).fetchall()
        leaves = conn.execute("SELECT count(*) FROM raw_partitions WHERE parent_table = 'predictions'").fetchone()[0]
        assert leaves >= 6
        assert apply(conn, "tenant", role=drift_tenant.tenant.role_name) == [14]
        conn.commit()
        after = conn.execute(
            "SELECT model_id, prediction_id, ts, seq, xid::text FROM predictions ORDER BY 1, 2"
        ).fetchall()
        assert after == before and len(after) == 2 * 2100
        # every leaf: one block-range index, no B-tree
        assert _leaf_indexes(conn) == {("brin", "(ts, seq, (((xid)::text)::bigint)) WITH (pages_per_range='32')")}

    # after it: rows in today's leaves and late rows in an old one; the unseen rows of before are taken once
    for name, (mid, rows) in models.items():
        _add(drift_tenant, mid, rows[1500:] + _shifted(rows[300:400], 14, "late-"))
        new = len(rows) - 1500 + 100
        assert engine.run(drift_tenant.tenant, name)["profile"]["rows"] == 500 + new
        assert engine.run(drift_tenant.tenant, name)["profile"]["rows"] == 0
        assert _sketched(reader, mid) == len(rows) + 700

    # a leaf made after the migration gets the index when it is attached
    mid, rows = models["brin-a"]
    _add(drift_tenant, mid, _shifted(rows[:10], 70, "older-"))
    assert engine.run(drift_tenant.tenant, "brin-a")["profile"]["rows"] == 10
    with drift_tenant.connect() as conn:
        assert {am for am, _ in _leaf_indexes(conn)} == {"brin"}


def test_new_rows_are_found_through_the_block_range_index_on_every_leaf(drift_tenant, engine, reader):
    """The engine's new-row query and the planner's pending check, on a model with several leaves: each leaf is
    read through its BRIN (a query written on xid8 would read every row of the model), and once the planner has
    summarized the ranges, only the ranges of the new transactions are read."""
    from seia_drift.planner import maintain_partitions
    from seia_drift.repositories.planning import PENDING
    from seia_drift.repositories.sketches import SketchRepository

    data = scenarios.generate("covariate_shift", 21)
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "brin-plan", dataclasses.replace(data, predictions=[], ground_truths=[]))
    mid = reader.model_id("brin-plan")
    rows = data.predictions
    _add(drift_tenant, mid, rows[:1500] + _shifted(rows, 7, "w1-") + _shifted(rows, 14, "w2-"))
    engine.run(drift_tenant.tenant, "brin-plan")
    with drift_tenant.connect() as conn:
        (lo,) = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
        conn.rollback()
    _add(drift_tenant, mid, rows[1500:1600])
    # the planner's pass before it looks for new rows (as the tenant's role, as the worker runs it)
    with drift_tenant.connect() as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(drift_tenant.tenant.role_name)))
        conn.commit()
        maintain_partitions(conn, drift_tenant.name)
    with drift_tenant.connect() as conn:
        conn.execute("ANALYZE predictions")
        query = SketchRepository.NEW_ROWS_RANGE.format(seg="")
        params = {"model": mid, "lo": str(lo), "hi": str(lo + 1000)}
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + query, params))
        # every leaf holding rows (three weeks) is read through its BRIN; the empty leaves made ahead are empty
        filled = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT tableoid::regclass::text FROM predictions WHERE model_id = %s", (mid,)
            )
        ]
        assert len(filled) == 3
        for leaf in filled:
            assert f"Bitmap Index Scan on {leaf}_ts_seq_xid_idx" in plan and f"Seq Scan on {leaf} " not in plan, plan
        # the 100 new rows and at most a block range more of each leaf are read, not the model's 5,100 rows
        read = sum(int(n) for n in re.findall(r"Rows Removed by Index Recheck: (\d+)", plan))
        assert read < 1000, plan
        first, last, n = conn.execute(query, params).fetchone()
        assert n == 100
        pending = "\n".join(r[0] for r in conn.execute("EXPLAIN (COSTS OFF) " + PENDING))
        for leaf in filled:
            assert f"Bitmap Index Scan on {leaf}_ts_seq_xid_idx" in pending, pending
