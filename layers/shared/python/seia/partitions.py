"""Partitions of a tenant's raw rows: created ahead of time and on demand, dropped by retention and with a model.

``predictions``, ``ground_truths`` and ``reference_rows`` are partitioned by model (``<table>_m<model>``),
then by time (``<table>_m<model>_<yyyymmdd>``): predictions and reference rows on their event time ``ts``,
ground truths on ``received_at``. A leaf covers an ISO week near today and a calendar year far from it
(tenant migration 0009, ``seia_raw_partition``). ``prediction_keys`` (one partition per model) holds every
stored prediction_id of the model: a duplicate is caught in any leaf. See docs/storage.md.

Every function runs in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from seia.registry import REGISTRY

RAW_TABLES = ("predictions", "ground_truths", "reference_rows")
MODEL_TABLES = RAW_TABLES + ("prediction_keys",)
# Retention drops these; the reference set stays until it is replaced.
EXPIRING = ("predictions", "ground_truths")
AHEAD = timedelta(days=14)  # leaves the planner keeps ready past now
DROP_BATCH = 8  # leaves dropped per call of drop_expired
KEY_BATCH = 200_000  # expired prediction keys removed per call of drop_expired
LOCK_TIMEOUT = "3s"  # a DROP waits no longer for the readers and writers of the model's rows
RETENTION_KEY = "retention_days"


def ensure_model_partitions(conn: psycopg.Connection, model_id: int, now: datetime | None = None) -> None:
    """The model's partition of each raw table, and leaves from a day ago to ``AHEAD`` (a new model)."""
    for table in MODEL_TABLES:
        conn.execute("SELECT seia_model_partition(%s, %s)", (table, model_id))
    now = now or datetime.now(UTC)
    ensure_partitions(conn, model_id, now - timedelta(days=1), now + AHEAD)


def ensure_partitions(
    conn: psycopg.Connection, model_id: int, start: datetime, end: datetime, tables=EXPIRING
) -> list[str]:
    """Leaves covering [start, end) of ``tables``; the names of those that had to be created."""
    created = []
    for table in tables:
        rows = conn.execute(
            """SELECT seia_raw_partition(%(table)s, %(model)s, d)
               FROM generate_series(date_trunc('day', %(start)s::timestamptz, 'UTC'), %(end)s::timestamptz,
                                    interval '1 day') d
               WHERE NOT EXISTS (SELECT 1 FROM raw_partitions r WHERE r.parent_table = %(table)s
                                 AND r.model_id = %(model)s AND r.starts <= d AND d < r.ends)""",
            {"table": table, "model": model_id, "start": start, "end": end},
        ).fetchall()
        created += sorted({r[0] for r in rows})
    return created


def ensure_for_rows(conn: psycopg.Connection, model_id: int, table: str, stage: str, column: str = "ts") -> None:
    """Leaves for every timestamp in column ``column`` of the staging table ``stage`` (late or far-future rows).

    One query; a leaf is created only for a day no leaf covers, so the usual batch costs one scan of its stage.
    """
    conn.execute(
        sql.SQL(
            """SELECT seia_raw_partition(%(table)s, %(model)s, d.at)
               FROM (SELECT min({col}) AS at FROM {stage} WHERE {col} IS NOT NULL
                     GROUP BY date_trunc('day', {col}, 'UTC')) d
               WHERE NOT EXISTS (SELECT 1 FROM raw_partitions r WHERE r.parent_table = %(table)s
                                 AND r.model_id = %(model)s AND r.starts <= d.at AND d.at < r.ends)"""
        ).format(col=sql.Identifier(column), stage=sql.Identifier(stage)),
        {"table": table, "model": model_id},
    )


def ensure_days(conn: psycopg.Connection, model_id: int, table: str, days: list[int]) -> None:
    """Leaves for the given days (counted from 2000-01-01 UTC, PostgreSQL's epoch), as ``ensure_for_rows``."""
    conn.execute(
        """SELECT seia_raw_partition(%(table)s, %(model)s, d.at)
           FROM (SELECT timestamptz '2000-01-01 00:00:00+00' + make_interval(days => n) AS at
                 FROM unnest(%(days)s::int4[]) n) d
           WHERE NOT EXISTS (SELECT 1 FROM raw_partitions r WHERE r.parent_table = %(table)s
                             AND r.model_id = %(model)s AND r.starts <= d.at AND d.at < r.ends)""",
        {"table": table, "model": model_id, "days": days},
    )


def leaf_now(conn: psycopg.Connection, model_id: int, table: str = "ground_truths") -> tuple[str, datetime]:
    """(name, start) of the leaf of ``table`` holding rows received now (the transaction's ``now()``)."""
    found = conn.execute(
        "SELECT r.relname, r.starts FROM raw_partitions r WHERE r.relname = seia_raw_partition(%s, %s, now())",
        (table, model_id),
    ).fetchone()
    assert found is not None  # seia_raw_partition records the leaf it returns
    return found[0], found[1]


@dataclass(frozen=True)
class Dropped:
    leaves: list[str]  # dropped now, oldest first
    keys: int  # expired prediction keys removed now
    horizon: datetime | None  # predictions before it are gone
    more: bool  # more to drop: call again


def horizon(conn: psycopg.Connection, model_id: int) -> datetime | None:
    """Predictions with ts before it have been dropped by retention (None: nothing dropped yet)."""
    row = conn.execute("SELECT horizon FROM raw_horizons WHERE model_id = %s", (model_id,)).fetchone()
    return row[0] if row else None


def drop_expired(
    conn: psycopg.Connection, model_id: int, before: datetime, batch: int = DROP_BATCH, keys: int = KEY_BATCH
) -> Dropped:
    """Drop up to ``batch`` leaves (oldest first) of predictions and ground truths that end by ``before``, then
    remove up to ``keys`` prediction keys older than the horizon. Each DROP waits at most ``LOCK_TIMEOUT``.

    A leaf is dropped whole, never emptied by DELETE; rows stay until their whole leaf is past ``before``.
    """
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    leaves = conn.execute(
        """SELECT relname, parent_table, ends FROM raw_partitions
           WHERE model_id = %s AND parent_table = ANY(%s) AND ends <= %s ORDER BY starts, relname LIMIT %s""",
        (model_id, list(EXPIRING), before, batch + 1),
    ).fetchall()
    more = len(leaves) > batch
    leaves = leaves[:batch]
    dropped = []
    new_horizon = None
    for relname, parent, ends in leaves:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(relname)))
        conn.execute("DELETE FROM raw_partitions WHERE relname = %s", (relname,))
        dropped.append(relname)
        if parent == "predictions":
            new_horizon = ends if new_horizon is None else max(new_horizon, ends)
    if new_horizon is not None:
        conn.execute(
            """INSERT INTO raw_horizons AS h (model_id, horizon) VALUES (%s, %s)
               ON CONFLICT (model_id) DO UPDATE SET horizon = greatest(h.horizon, EXCLUDED.horizon)""",
            (model_id, new_horizon),
        )
    current = horizon(conn, model_id)
    removed = 0
    if current is not None and keys > 0 and _exists(conn, f"prediction_keys_m{model_id}"):
        keys_table = sql.Identifier(f"prediction_keys_m{model_id}")
        removed = conn.execute(
            sql.SQL("DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE ts < %s LIMIT %s))").format(
                t=keys_table
            ),
            (current, keys),
        ).rowcount
        more = more or removed == keys
    return Dropped(dropped, removed, current, more)


def drop_model(conn: psycopg.Connection, model_id: int) -> None:
    """Drop every raw partition of the model (its rows, labels, reference rows and keys)."""
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    for table in MODEL_TABLES:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(f"{table}_m{int(model_id)}")))
    conn.execute("DELETE FROM raw_partitions WHERE model_id = %s", (model_id,))
    conn.execute("DELETE FROM raw_horizons WHERE model_id = %s", (model_id,))


def partition_usage(conn: psycopg.Connection, model_id: int) -> dict[str, dict[str, int]]:
    """{table: {"rows", "bytes", "partitions"}} of the model's raw tables (bytes on disk with indexes and TOAST)."""
    out = {}
    for table in MODEL_TABLES:
        rel = f"{table}_m{int(model_id)}"
        if not _exists(conn, rel):
            out[table] = {"rows": 0, "bytes": 0, "partitions": 0}
            continue
        leaves = conn.execute(
            """SELECT count(*) FILTER (WHERE c.relkind = 'r'), coalesce(sum(pg_total_relation_size(t.relid)), 0)
               FROM pg_partition_tree(%s::regclass) t JOIN pg_class c ON c.oid = t.relid""",
            (rel,),
        ).fetchone()
        assert leaves is not None  # aggregates return one row
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(rel))).fetchone()
        assert rows is not None
        out[table] = {"rows": int(rows[0]), "bytes": int(leaves[1]), "partitions": int(leaves[0])}
    return out


def retention_days(conn: psycopg.Connection, settings: dict | None) -> int:
    """The model's ``retention_days``, else the tenant's default, else the registry's (90)."""
    own = (settings or {}).get(RETENTION_KEY)
    if own is not None:
        return int(own)
    tenant = tenant_retention(conn)
    return tenant if tenant is not None else int(REGISTRY.default(RETENTION_KEY))


def tenant_retention(conn: psycopg.Connection) -> int | None:
    """The tenant's default ``retention_days`` (``GET /v1/settings``), None when it has not set one."""
    row = conn.execute("SELECT value FROM tenant_defaults WHERE key = %s", (RETENTION_KEY,)).fetchone()
    return row[0] if row is not None and isinstance(row[0], int) else None


def set_tenant_retention(conn: psycopg.Connection, days: int | None) -> None:
    """The tenant's default ``retention_days`` (None: back to the registry's default)."""
    if days is None:
        conn.execute("DELETE FROM tenant_defaults WHERE key = %s", (RETENTION_KEY,))
        return
    problem = REGISTRY.setting(RETENTION_KEY).problem(days)
    if problem:
        raise ValueError(f"retention_days {problem}")
    conn.execute(
        """INSERT INTO tenant_defaults (key, value) VALUES (%s, to_jsonb(%s::int))
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
        (RETENTION_KEY, days),
    )


def maintain(
    conn: psycopg.Connection,
    model_id: int,
    settings: dict | None,
    now: datetime | None = None,
    batch: int = DROP_BATCH,
) -> Dropped:
    """The planner's work for one model: leaves ready ``AHEAD``, new block ranges summarized, then one bounded
    batch of retention."""
    now = now or datetime.now(UTC)
    ensure_partitions(conn, model_id, now - timedelta(days=1), now + AHEAD)
    summarize(conn, model_id)
    days = retention_days(conn, settings)
    return drop_expired(conn, model_id, now - timedelta(days=days), batch=batch)


def summarize(conn: psycopg.Connection, model_id: int) -> None:
    """Summarize the block ranges written since the last summary in every leaf of the model's predictions.

    Their block-range index (ts, seq, xid; tenant migration 0014) is not summarized as rows go in: a range
    without a summary matches every query, so the engine's "rows of transactions since the watermark" (and
    the planner's check for them) would read every row written since the leaf was last vacuumed. The planner
    summarizes first, then looks for new rows; a load's rows are read once more here, off the load's path and
    the drift run's. (``autosummarize`` would ask autovacuum for each range as it fills; its queue holds 256
    requests, fewer than a million-row load fills, and each one dropped is a line in the server log.)"""
    rel = f"predictions_m{int(model_id)}"
    if not _exists(conn, rel):
        return
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    conn.execute(
        """SELECT brin_summarize_new_values(i.indexrelid)
           FROM pg_partition_tree(%s::regclass) t JOIN pg_index i ON i.indrelid = t.relid
           JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
           WHERE t.isleaf AND a.amname = 'brin'""",
        (rel,),
    )


def _exists(conn: psycopg.Connection, rel: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (sql.Identifier(rel).as_string(conn),)).fetchone()
    return bool(row and row[0])
