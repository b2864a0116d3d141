"""Connections: the superuser's (CLI only), the API role's (admin database), each tenant's.

One ``Databases`` per process holds every connection the process opens, to any database, under one
bound (``SEIA_DB_MAX_CONNECTIONS``), and reuses them across invocations as Lambda reuses a warm
process. Tenant data itself is never cached.
"""

from __future__ import annotations

import logging
import math
import os
import select
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from seia.config import Settings
from seia.credentials import get_store
from seia.errors import ServiceUnavailable

log = logging.getLogger(__name__)
# psycopg_pool logs connection failures with the conninfo; keep passwords out of logs.
logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
# Seconds a client is told to wait (Retry-After) when a tenant's database cannot take its request now.
RETRY_AFTER = 2


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    db_name: str
    role_name: str
    db_host: str | None = None
    db_port: int | None = None
    # Raised by each move to another server (seia.tenancy_move): connections opened under an older epoch are closed.
    epoch: int = 0
    # While a move's cutover holds the tenant's writes: when they are expected back.
    paused_until: datetime | None = None


def superuser_connect(settings: Settings, dbname: str | None = None, **kwargs) -> psycopg.Connection:
    """A superuser connection from DATABASE_URL, optionally to another database of that server."""
    conninfo = settings.database_url if dbname is None else make_conninfo(settings.database_url, dbname=dbname)
    return psycopg.connect(conninfo, autocommit=True, **kwargs)


class Databases:
    """Every connection this process opens, to any database, under one bound: ``max_connections``.

    Not a pool per tenant: with 1,000 tenants a pool each would let one process hold thousands of
    connections. Idle connections are kept per (host, port, database, role) and lent again to the same
    database; when the bound is reached and a request needs a database with no idle connection, the least
    recently used idle connection (another tenant's) is closed to make room, and when none is idle the
    request waits up to ``wait`` seconds for one (then 503). A Lambda environment serves one request at a
    time, so 2 (the admin database, then the tenant's) is its bound: PostgreSQL then sees at most
    Σ (reserved concurrency x 2) connections from the functions (README, "Bounded connections").

    A connection is checked before it is lent again, so a restarted database costs one failed check, not a
    failed request. The block that borrows it commits on success and rolls back on error.
    """

    def __init__(
        self, settings: Settings, max_connections: int | None = None, wait: float = 10.0, application_name: str = "seia"
    ):
        self.settings = settings
        self.application_name = application_name  # what pg_stat_activity shows for these connections
        self._store = get_store(settings)
        self.max_connections = max_connections or settings.db_max_connections
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._wait = wait
        self._cond = threading.Condition()
        self._idle: list[tuple[_Target, psycopg.Connection]] = []  # least recently returned first
        self._open = 0  # idle + lent
        # A moved tenant's database (seia.tenancy_move): the epoch last seen, and a generation that retires
        # the connections opened before the move (idle ones at once, lent ones when they are given back).
        self._epochs: dict[str, int] = {}
        self._generations: dict[str, int] = {}

    def _pool(self, host: str, port: int, dbname: str, role: str) -> _Target:
        return _Target(host, port, dbname, role)

    @property
    def open_connections(self) -> int:
        with self._cond:
            return self._open

    def _reserve(self, target: _Target) -> psycopg.Connection | None:
        """An idle connection to ``target``, or None once a slot to open one is reserved (waits for one)."""
        deadline = time.monotonic() + self._wait
        with self._cond:
            while True:
                for i in range(len(self._idle) - 1, -1, -1):
                    if self._idle[i][0] == target:
                        return self._idle.pop(i)[1]
                if self._open < self.max_connections:
                    self._open += 1
                    return None
                if self._idle:
                    # The slot of another database's idle connection is taken over.
                    _close_quietly(self._idle.pop(0)[1])
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolTimeout(f"no connection free within {self._wait:.0f} s")
                self._cond.wait(remaining)

    def _release(self, target: _Target, conn: psycopg.Connection | None, reuse: bool = True) -> None:
        """Give back the slot; ``conn`` (when usable and ``reuse``) stays idle for the next request to ``target``,
        otherwise it is closed."""
        with self._cond:
            if conn is not None and reuse and not conn.closed:
                self._idle.append((target, conn))
            else:
                if conn is not None:
                    _close_quietly(conn)
                self._open -= 1
            self._cond.notify()

    def _connect(self, target: _Target) -> psycopg.Connection:
        conninfo = make_conninfo(
            host=target.host,
            port=target.port,
            dbname=target.dbname,
            user=target.role,
            # Read at connect time: a store may hand out short-lived passwords (RDS IAM tokens).
            password=self._store.password(target.role),
            sslmode=self.settings.sslmode,
            connect_timeout=5,
            application_name=self.application_name,
        )
        return psycopg.connect(conninfo)

    @contextmanager
    def _borrow(self, target: _Target) -> Iterator[psycopg.Connection]:
        generation = self._generations.get(target.dbname, 0)
        try:
            conn = self._reserve(target)
            if conn is not None:
                try:
                    ConnectionPool.check_connection(conn)
                except psycopg.Error:
                    _close_quietly(conn)
                    conn = None
            if conn is None:
                try:
                    conn = self._connect(target)
                except BaseException:
                    self._release(target, None)
                    raise
        except (PoolTimeout, psycopg.OperationalError) as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise ServiceUnavailable("the database is unavailable, retry later") from None
        keep = False
        try:
            try:
                yield conn
            except BaseException:
                if not conn.closed and conn.info.transaction_status != TransactionStatus.UNKNOWN:
                    conn.rollback()
                raise
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.commit()
            keep = True
        except psycopg.OperationalError as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise ServiceUnavailable("the database is unavailable, retry later") from None
        finally:
            # Not reused: a connection left in a transaction or broken, or one opened before its tenant moved.
            current = self._generations.get(target.dbname, 0) == generation
            self._release(target, conn, reuse=keep and current and _reusable(conn))

    def admin(self) -> AbstractContextManager[psycopg.Connection]:
        s = self.settings
        return self._borrow(self._pool(s.db_host, s.db_port, s.admin_db, s.api_role))

    def tenant(self, tenant: Tenant) -> AbstractContextManager[psycopg.Connection]:
        s = self.settings
        self._forget_moved(tenant)
        target = self._pool(tenant.db_host or s.db_host, tenant.db_port or s.db_port, tenant.db_name, tenant.role_name)
        return _writes_paused(self._borrow(target), tenant)

    def _forget_moved(self, tenant: Tenant) -> None:
        """A tenant seen with a higher epoch was moved: close the idle connections to its database and retire
        the lent ones, so the next request connects where the admin row now says."""
        seen = self._epochs.get(tenant.db_name)
        if seen is not None and tenant.epoch <= seen:
            return
        with self._cond:
            seen = self._epochs.get(tenant.db_name)
            if seen is not None and tenant.epoch <= seen:
                return
            self._epochs[tenant.db_name] = tenant.epoch
            if seen is None:
                return
            self._generations[tenant.db_name] = self._generations.get(tenant.db_name, 0) + 1
            self._close_idle(tenant.db_name)

    def close_idle(self, db_name: str) -> None:
        """Close this process's idle connections to ``db_name`` (a database it will not visit again soon)."""
        with self._cond:
            self._close_idle(db_name)

    def _close_idle(self, db_name: str) -> None:  # the caller holds self._cond
        for entry in [e for e in self._idle if e[0].dbname == db_name]:
            self._idle.remove(entry)
            _close_quietly(entry[1])
            self._open -= 1
        self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            for _, conn in self._idle:
                _close_quietly(conn)
                self._open -= 1
            self._idle.clear()
            self._cond.notify_all()


@contextmanager
def _writes_paused(
    borrowed: AbstractContextManager[psycopg.Connection], tenant: Tenant
) -> Iterator[psycopg.Connection]:
    """A write refused because the tenant's database is read-only for a move's cutover: 503 with Retry-After."""
    try:
        with borrowed as conn:
            yield conn
    except psycopg.errors.ReadOnlySqlTransaction:
        until = tenant.paused_until
        left = (until - datetime.now(UTC)).total_seconds() if until else 0.0
        raise ServiceUnavailable(
            "this tenant's database is being moved; writes resume shortly",
            retry_after=max(1, math.ceil(left)) if until else RETRY_AFTER,
        ) from None
    except ServiceUnavailable as exc:
        # Also a request whose connection a move's cutover (or a restart) cut: the client retries after a while.
        exc.retry_after = exc.retry_after or RETRY_AFTER
        raise


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    dbname: str
    role: str


def _reusable(conn: psycopg.Connection) -> bool:
    return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE


def _close_quietly(conn: psycopg.Connection, wait: float = 1.0) -> None:
    """Close ``conn`` and wait (at most ``wait`` s) until its server process has gone: the slot it frees is
    reused at once, and the bound holds as PostgreSQL counts it only once the old backend has exited (it
    closes its end of the socket last, after leaving pg_stat_activity)."""
    fd = -1
    try:
        if not conn.closed:
            fd = os.dup(conn.pgconn.socket)  # ours: still open after psycopg closes its own
    except (OSError, psycopg.Error):
        fd = -1
    try:
        conn.close()
    except Exception:  # a connection already cut by the server
        log.debug("closing a broken connection failed", exc_info=True)
    if fd < 0:
        return
    try:
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if select.select([fd], [], [], left)[0] and not os.read(fd, 4096):
                break  # end of stream: the backend has exited
    except OSError:
        pass  # reset by the server: it is gone too
    finally:
        os.close(fd)
