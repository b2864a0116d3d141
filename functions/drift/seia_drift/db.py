"""Connections of the drift functions: the admin database as the worker role, tenants as themselves."""

from __future__ import annotations

from contextlib import AbstractContextManager

import psycopg

from seia.db import Databases, Tenant
from seia.errors import NotFound
from seia.repositories.admin import TenantRepository


class WorkerDatabases(Databases):
    """Like :class:`seia.db.Databases`, but the admin database is read as ``settings.worker_role``
    (SELECT on tenants, nothing else); tenant databases are opened as each tenant's own role."""

    def admin(self) -> AbstractContextManager[psycopg.Connection]:
        s = self.settings
        return self._borrow(self._pool(s.db_host, s.db_port, s.admin_db, s.worker_role))

    def tenants(self) -> list[Tenant]:
        with self.admin() as conn:
            tenants = TenantRepository(conn).all()
            conn.commit()
        return tenants

    def tenant_named(self, name: str) -> Tenant:
        with self.admin() as conn:
            tenant = TenantRepository(conn).get(name)
            conn.commit()
        if tenant is None:
            raise NotFound(f"no tenant named {name!r}")
        return tenant

    def release(self, tenant: Tenant) -> None:
        """Close the idle connections to the tenant's database. Planning visits every tenant every few minutes;
        a connection kept per tenant visited would hold a slot of the process's bound for nothing."""
        self.close_idle(tenant.db_name)
