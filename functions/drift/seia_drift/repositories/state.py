"""Watermarks, the per-model lock and the transaction horizon."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

LOCK_CLASS = 0x5E1D  # first key of pg_advisory_xact_lock(int, int); the second is the model id


@dataclass(frozen=True)
class Watermark:
    xid: int = 0
    change: int = 0


class StateRepository:
    LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
    # The horizon: the oldest transaction still running in this database, else the snapshot's xmax.
    # Read in two statements, the snapshot first: a transaction with an id below xmax had its id
    # before the snapshot, so the activity read after it either lists it or it has ended.
    SNAPSHOT_XMAX = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
    CLEAR_STATS_SNAPSHOT = "SELECT pg_stat_clear_snapshot()"
    # From the functions under pg_stat_activity and pg_prepared_xacts: those views name every database and role
    # of the server and are closed to tenant roles (seia.tenancy); this database is known by its oid.
    RUNNING_HERE = """
        WITH here AS (SELECT datid FROM pg_stat_get_activity(pg_backend_pid()))
        SELECT a.backend_xid::text::bigint FROM pg_stat_get_activity(NULL) a, here
        WHERE a.datid = here.datid AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
        UNION ALL
        SELECT p.transaction::text::bigint FROM pg_prepared_xact() p, here WHERE p.dbid = here.datid"""
    GET = "SELECT xid::text::bigint, change FROM drift_watermarks WHERE model_id = %s AND step = %s"
    SET = """
        INSERT INTO drift_watermarks (model_id, step, xid, change) VALUES (%s, %s, %s::text::xid8, %s)
        ON CONFLICT (model_id, step) DO UPDATE
           SET xid = EXCLUDED.xid, change = EXCLUDED.change, updated_at = now()"""
    RESET = "DELETE FROM drift_watermarks WHERE model_id = %s AND step <> ALL(%s)"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def lock_model(self, model_id: int) -> None:
        """Serialise the engine's transactions on one model until this transaction ends."""
        self.conn.execute(self.LOCK, (LOCK_CLASS, model_id))

    def horizon(self) -> int:
        """Every transaction of this database with a smaller (64-bit) id has ended.

        Rows of transactions in ``[watermark, horizon)`` are final: none can still commit. Only this
        database's transactions count, so a long transaction of another tenant (or anything else
        on the server) does not hold this one back; ``pg_snapshot_xmin`` would be server-wide.
        """
        found = self.conn.execute(self.SNAPSHOT_XMAX).fetchone()
        assert found is not None  # the query always returns one row
        xmax: int = found[0]
        self.conn.execute(self.CLEAR_STATS_SNAPSHOT)
        horizon = xmax
        for (xid32,) in self.conn.execute(self.RUNNING_HERE):
            # pg_stat_activity shows 32-bit ids; place them in the epoch just below xmax. One that began after
            # the snapshot (its id at or past xmax, so "behind" by more than half the id space) holds nothing back.
            behind = (xmax - xid32) % 2**32
            if 0 < behind < 2**31:
                horizon = min(horizon, xmax - behind)
        return horizon

    def get(self, model_id: int, step: str) -> Watermark:
        row = self.conn.execute(self.GET, (model_id, step)).fetchone()
        return Watermark(row[0] or 0, row[1] or 0) if row else Watermark()

    def set(self, model_id: int, step: str, mark: Watermark) -> None:
        self.conn.execute(self.SET, (model_id, step, str(mark.xid), mark.change))

    def reset_all_but(self, model_id: int, keep: list[str]) -> None:
        self.conn.execute(self.RESET, (model_id, keep))
