"""Creating tenants, their databases, roles and keys; migrating every database.

These operations need a superuser (DATABASE_URL) and run from the CLI, never from a function.
Each tenant gets its own database, owned by its own login role; CONNECT is revoked from PUBLIC on
every tenant database and on the admin database, so a tenant's role opens its database only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql

from seia import auth, migrate, naming
from seia.config import Settings
from seia.credentials import get_store
from seia.db import Tenant, superuser_connect
from seia.errors import Conflict, Detail, NotFound, ValidationFailed
from seia.repositories.admin import ApiKeyRepository, TenantRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    api_key: str


class TenantAdmin:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = get_store(settings)

    # -- server-level objects -------------------------------------------------------------
    def _server(self) -> psycopg.Connection:
        return superuser_connect(self.settings)

    def _ensure_role(self, conn: psycopg.Connection, role: str) -> None:
        exists = _role_exists(conn, role)
        password = self.store.password(role) if exists else self.store.create(role)
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))

    def _ensure_database(self, conn: psycopg.Connection, db: str, owner: str | None) -> None:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if not exists:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db))
            if owner:
                query = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(owner))
            conn.execute(query)
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(db)))

    # -- admin database -------------------------------------------------------------------
    def ensure_admin(self) -> list[int]:
        s = self.settings
        with self._server() as server:
            self._ensure_database(server, s.admin_db, owner=None)
            for role in (s.api_role, s.worker_role):
                self._ensure_role(server, role)
                server.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(s.admin_db), sql.Identifier(role)
                    )
                )
        with superuser_connect(s, s.admin_db) as admin:
            applied = migrate.apply(admin, "admin")
            grants = [
                (s.api_role, "SELECT", "tenants"),
                (s.api_role, "SELECT", "api_keys"),
                (s.worker_role, "SELECT", "tenants"),
            ]
            for role, privilege, table in grants:
                admin.execute(
                    sql.SQL("GRANT {} ON {} TO {}").format(
                        sql.SQL(privilege), sql.Identifier(table), sql.Identifier(role)
                    )
                )
        return applied

    def admin_connection(self) -> psycopg.Connection:
        return superuser_connect(self.settings, self.settings.admin_db)

    # -- tenants --------------------------------------------------------------------------
    def create_tenant(self, name: str) -> CreatedTenant:
        if not naming.is_tenant_name(name):
            raise ValidationFailed(
                "invalid tenant name",
                [Detail(None, "name", "must match ^[a-z0-9][a-z0-9_-]{0,39}$")],
            )
        self.ensure_admin()
        s = self.settings
        db_name = naming.tenant_database(s.db_prefix, name)
        role = naming.tenant_role(s.db_prefix, name)
        with self.admin_connection() as admin:
            if TenantRepository(admin).get(name):
                raise Conflict(f"tenant {name!r} already exists")
        with self._server() as server:
            if (
                _role_exists(server, role)
                or server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone()
            ):
                raise Conflict(f"database objects for tenant {name!r} already exist; drop them or pick another name")
            self._ensure_role(server, role)
            try:
                self._ensure_database(server, db_name, owner=role)
                self._migrate_tenant_db(db_name, role)
                key = auth.new_key()
                with self.admin_connection() as admin, admin.transaction():
                    tenant = TenantRepository(admin).insert(name, db_name, role)
                    ApiKeyRepository(admin).insert(tenant.id, key.prefix, key.key_hash)
            except BaseException:
                server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))
                server.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
                raise
        log.info("created tenant %s", name)
        return CreatedTenant(tenant=tenant, api_key=key.key)

    def _migrate_tenant_db(self, db_name: str, role: str) -> list[int]:
        with superuser_connect(self.settings, db_name) as conn:
            return migrate.apply(conn, "tenant", role=role)

    def list_tenants(self):
        self.ensure_admin()
        with self.admin_connection() as admin:
            return TenantRepository(admin).summaries()

    def get_tenant(self, name: str) -> Tenant:
        with self.admin_connection() as admin:
            tenant = TenantRepository(admin).get(name)
        if tenant is None:
            raise NotFound(f"no tenant named {name!r}")
        return tenant

    def create_key(self, tenant_name: str) -> str:
        tenant = self.get_tenant(tenant_name)
        key = auth.new_key()
        with self.admin_connection() as admin:
            ApiKeyRepository(admin).insert(tenant.id, key.prefix, key.key_hash)
        return key.key

    def revoke_key(self, prefix: str) -> bool:
        with self.admin_connection() as admin:
            return ApiKeyRepository(admin).revoke(auth.normalise_prefix(prefix))

    def migrate_all(self) -> dict:
        """Admin database, then every tenant database; returns what was applied where."""
        tenants_report: dict[str, object] = {}
        report = {"admin": self.ensure_admin(), "tenants": tenants_report}
        with self.admin_connection() as admin:
            tenants = TenantRepository(admin).all()
        for tenant in tenants:
            if tenant.db_host or tenant.db_port:
                # A tenant moved to another instance is migrated with DATABASE_URL pointing there.
                tenants_report[tenant.name] = "skipped: on another server"
                continue
            tenants_report[tenant.name] = self._migrate_tenant_db(tenant.db_name, tenant.role_name)
        return report

    def drop_tenant(self, name: str) -> None:
        """Remove a tenant's database, role and keys (tests and operators)."""
        tenant = self.get_tenant(name)
        with self._server() as server:
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(tenant.db_name)))
            server.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(tenant.role_name)))
        with self.admin_connection() as admin:
            admin.execute("DELETE FROM tenants WHERE id = %s", (tenant.id,))


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
