"""Connections: the superuser's (CLI only), the API role's (admin database), each tenant's.

Pools are created once per process, on first use, and reused across invocations, as Lambda
reuses a warm process. A pool checks a connection before lending it, so a restarted database
costs one failed check, not a failed request. Tenant data itself is never cached.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from seia.config import Settings
from seia.credentials import get_store
from seia.errors import ServiceUnavailable

log = logging.getLogger(__name__)
# psycopg_pool logs connection failures with the conninfo; keep passwords out of logs.
logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    db_name: str
    role_name: str
    db_host: str | None = None
    db_port: int | None = None


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
        except (PoolTimeout, psycopg.OperationalError) as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise ServiceUnavailable("the database is unavailable, retry later") from None

    def admin(self) -> AbstractContextManager[psycopg.Connection]:
        s = self.settings
        return self._borrow(self._pool(s.db_host, s.db_port, s.admin_db, s.api_role))

    def tenant(self, tenant: Tenant) -> AbstractContextManager[psycopg.Connection]:
        s = self.settings
        pool = self._pool(tenant.db_host or s.db_host, tenant.db_port or s.db_port, tenant.db_name, tenant.role_name)
        return self._borrow(pool)

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
