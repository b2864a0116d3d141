"""Connections: the superuser's (CLI only), the API role's (admin database), each tenant's.

Pools are created once per process, on first use, and reused across invocations, as Lambda
reuses a warm process. A pool checks a connection before lending it, so a restarted database
costs one failed check, not a failed request. Tenant data itself is never cached.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

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
    """Pools per (host, port, database, role), created lazily."""

    def __init__(self, settings: Settings, pool_size: int = 4):
        self.settings = settings
        self._store = get_store(settings)
        self._pools: dict[tuple, ConnectionPool] = {}
        self._lock = threading.Lock()
        self._pool_size = pool_size
        self._epochs: dict[str, int] = {}

    def _pool(self, host: str, port: int, dbname: str, role: str) -> ConnectionPool:
        key = (host, port, dbname, role)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                conninfo = make_conninfo(
                    host=host,
                    port=port,
                    dbname=dbname,
                    user=role,
                    password=self._store.password(role),
                    sslmode=self.settings.sslmode,
                    connect_timeout=5,
                    application_name="seia",
                )
                pool = ConnectionPool(
                    conninfo,
                    min_size=0,
                    max_size=self._pool_size,
                    open=True,
                    timeout=10,
                    check=ConnectionPool.check_connection,
                    name=f"{dbname}:{role}",
                )
                self._pools[key] = pool
        return pool

    @contextmanager
    def _borrow(self, pool: ConnectionPool) -> Iterator[psycopg.Connection]:
        try:
            with pool.connection() as conn:
                yield conn
        except (PoolTimeout, PoolClosed, psycopg.OperationalError) as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise ServiceUnavailable("the database is unavailable, retry later") from None

    def admin(self) -> AbstractContextManager[psycopg.Connection]:
        s = self.settings
        return self._borrow(self._pool(s.db_host, s.db_port, s.admin_db, s.api_role))

    def tenant(self, tenant: Tenant) -> AbstractContextManager[psycopg.Connection]:
        s = self.settings
        self._forget_moved(tenant)
        pool = self._pool(tenant.db_host or s.db_host, tenant.db_port or s.db_port, tenant.db_name, tenant.role_name)
        return _writes_paused(self._borrow(pool), tenant)

    def _forget_moved(self, tenant: Tenant) -> None:
        """A tenant seen with a higher epoch was moved: close every pool of its database (in-use connections
        close when they are given back), so the next request connects where the admin row now says."""
        seen = self._epochs.get(tenant.db_name)
        if seen is not None and tenant.epoch <= seen:
            return
        with self._lock:
            seen = self._epochs.get(tenant.db_name)
            if seen is not None and tenant.epoch <= seen:
                return
            self._epochs[tenant.db_name] = tenant.epoch
            if seen is None:
                return
            for key in [k for k in self._pools if k[2] == tenant.db_name]:
                self._pools.pop(key).close(timeout=0)

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


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
