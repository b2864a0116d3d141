"""Creating tenants, their databases, roles and keys; migrating every database.

These operations need a superuser (DATABASE_URL) and run from the CLI, never from a function.
Each tenant gets its own database, owned by its own login role; CONNECT is revoked from PUBLIC on
every tenant database and on the admin database, so a tenant's role opens its database only. Where Seia
owns the server (``SEIA_DB_OWN_SERVER``), CONNECT is also revoked on every other database (postgres,
template1, ...). In each tenant database the catalogs that list other databases, roles and sessions
are closed to the tenant (docs/security.md says what remains visible and what RDS allows).
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
from seia.repositories.admin import ApiKeyRepository, SigningKeyRepository, TenantRepository
from seia.repositories.deliveries import TenantSettingsRepository
from seia.signing import SigningSecrets

log = logging.getLogger(__name__)

# Catalog tables and views that list the server's databases, roles or other sessions (with their database and
# role names). Closed to PUBLIC in each tenant database; nothing Seia runs as a tenant role reads them.
HIDDEN_RELATIONS = (
    "pg_database",
    "pg_roles",
    "pg_user",
    "pg_group",
    "pg_auth_members",
    "pg_shdescription",
    "pg_shseclabel",
    "pg_seclabels",
    "pg_db_role_setting",
    "pg_stat_activity",
    "pg_stat_database",
    "pg_stat_database_conflicts",
    "pg_stat_replication",
    "pg_stat_subscription",
    "pg_replication_slots",
    "pg_prepared_xacts",
    "pg_stat_progress_vacuum",
    "pg_stat_progress_analyze",
    "pg_stat_progress_create_index",
    "pg_stat_progress_cluster",
    "pg_stat_progress_copy",
)
# Functions that name any object from its oid, a database among them.
HIDDEN_FUNCTIONS = (
    "pg_identify_object(oid, oid, integer)",
    "pg_identify_object_as_address(oid, oid, integer)",
    "pg_describe_object(oid, oid, integer)",
)


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
                (s.worker_role, "SELECT", "signing_keys"),
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
                self._fence(server, [role], [db_name])
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
            applied = migrate.apply(conn, "tenant", role=role)
            _hide_catalogs(conn)
            return applied

    def _fence(self, server: psycopg.Connection, tenant_roles: list[str], tenant_dbs: list[str]) -> list[str]:
        """Where Seia owns the server: no tenant role may open a database but its own. Returns the databases fenced.

        PostgreSQL grants CONNECT to PUBLIC on postgres and template1 (and on any database created without a
        REVOKE), and a grant to PUBLIC cannot be denied to one role: it is revoked from PUBLIC and given back
        to every other role that exists now, so nothing but the tenants loses access.
        """
        if not self.settings.own_server:
            return []
        with self.admin_connection() as admin:
            rows = TenantRepository(admin).all()
        tenants = set(tenant_roles) | {t.role_name for t in rows}
        own = set(tenant_dbs) | {t.db_name for t in rows}
        others = [
            r[0]
            for r in server.execute("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND NOT rolsuper")
            if r[0] not in tenants
        ]
        fenced = []
        for (db,) in server.execute("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1").fetchall():
            if db in own:
                continue
            ident = sql.Identifier(db)
            public = server.execute(
                "SELECT has_database_privilege('public', oid, 'CONNECT') FROM pg_database WHERE datname = %s", (db,)
            ).fetchone()
            if public and public[0]:
                server.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(ident))
                for role in others:
                    server.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(ident, sql.Identifier(role)))
            for role in tenants:
                server.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(ident, sql.Identifier(role)))
            fenced.append(db)
        return fenced

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

    def rotate_signing_secret(self, tenant_name: str) -> dict:
        """A new webhook signing secret for the tenant (the old one stops signing at once); shown only now."""
        self.ensure_admin()
        tenant = self.get_tenant(tenant_name)
        key_id, secret = SigningSecrets(self.settings).create(tenant.name)
        with self.admin_connection() as admin:
            SigningKeyRepository(admin).put(tenant.id, key_id)
        return {"tenant": tenant.name, "key_id": key_id, "signing_secret": secret}

    def notifications(self, tenant_name: str, channels=None, clear: bool = False):
        """The tenant's default notification channels; replaced by `channels` (validated), removed by `clear`."""
        from seia.channels import problems

        tenant = self.get_tenant(tenant_name)
        if channels is not None:
            found = problems(channels, resolve=True)
            if found:
                raise ValidationFailed(
                    "invalid notifications", [Detail(None, f"notifications{f}", m) for f, m in found]
                )
        with superuser_connect(self.settings, tenant.db_name) as conn, conn.transaction():
            repo = TenantSettingsRepository(conn)
            if clear:
                repo.delete("notifications")
            elif channels is not None:
                repo.put("notifications", channels)
            return repo.get("notifications")

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
        with self._server() as server:
            report["fenced"] = self._fence(server, [], [])
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


def _hide_catalogs(conn: psycopg.Connection) -> None:
    """In a tenant database (as superuser): close what lists other databases, roles and sessions to PUBLIC."""
    with conn.transaction():
        for name in HIDDEN_RELATIONS:
            found = conn.execute("SELECT to_regclass(%s)", (f"pg_catalog.{name}",)).fetchone()
            assert found is not None  # a SELECT without FROM returns one row
            if found[0] is not None:
                conn.execute(sql.SQL("REVOKE SELECT ON pg_catalog.{} FROM PUBLIC").format(sql.Identifier(name)))
        for signature in HIDDEN_FUNCTIONS:
            conn.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION pg_catalog." + signature + " FROM PUBLIC"))
        # Without ownership of the catalog (a managed service's admin user, e.g. RDS) REVOKE only warns.
        readable = conn.execute("SELECT has_table_privilege('public', 'pg_catalog.pg_database', 'SELECT')").fetchone()
        assert readable is not None  # a SELECT without FROM returns one row
        if readable[0]:
            log.warning(
                "%s: the catalogs stay readable by tenants (not their owner; see docs/security.md)", conn.info.dbname
            )
