"""Creating tenants, their databases, roles and keys; migrating every database.

These operations need a superuser (DATABASE_URL, and the admin role of each server added with
``seia server add``) and run from the CLI, never from a function. A new tenant goes to the server with the
fewest tenants (``ServerRepository.LOADS``) unless one is named.
Each tenant gets its own database, owned by its own login role; CONNECT is revoked from PUBLIC on
every tenant database and on the admin database, so a tenant's role opens its database only. Where Seia
owns the server (``SEIA_DB_OWN_SERVER``), CONNECT is also revoked on every other database (postgres,
template1, ...). In each tenant database the catalogs that list other databases, roles and sessions
are closed to the tenant (docs/security.md says what remains visible and what RDS allows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from seia import auth, migrate, naming, scopes
from seia.config import Settings
from seia.credentials import get_store
from seia.db import Tenant, superuser_connect
from seia.errors import Conflict, Detail, NotFound, ValidationFailed
from seia.repositories.admin import (
    ApiKeyRepository,
    KeySummary,
    Server,
    ServerLoad,
    ServerRepository,
    SigningKeyRepository,
    TenantRepository,
)
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

    # -- servers --------------------------------------------------------------------------
    def _server(self, server: Server | None = None, dbname: str | None = None) -> psycopg.Connection:
        """The admin role's connection to ``server`` (default: DATABASE_URL's), to ``dbname`` or its own."""
        if server is None or server.is_default:
            return superuser_connect(self.settings, dbname)
        return psycopg.connect(make_conninfo(**self.server_params(server, dbname)), autocommit=True)

    def server_params(self, server: Server, dbname: str | None = None) -> dict:
        """libpq parameters of ``server``'s admin role, password included: for connections and tools' env only."""
        if server.is_default:
            params = conninfo_to_dict(self.settings.database_url)
        else:
            params = {"host": server.host, "port": server.port, "user": server.admin_user, "dbname": server.admin_db}
            params["sslmode"] = self.settings.sslmode
            password = self.store.server_password(server.name)
            if password:
                params["password"] = password
        if dbname:
            params["dbname"] = dbname
        params.setdefault("connect_timeout", 10)
        return params

    def add_server(self, name: str, dsn: str) -> ServerLoad:
        """Register a server from its admin role's DSN; the password goes to the credential store."""
        if not naming.is_tenant_name(name):
            raise ValidationFailed(
                "invalid server name", [Detail(None, "name", "must match ^[a-z0-9][a-z0-9_-]{0,39}$")]
            )
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise ValidationFailed("invalid DSN", [Detail(None, "dsn", "not a PostgreSQL URL or conninfo")]) from None
        host, user = params.get("host"), params.get("user")
        if not host or not user or "," in str(host):
            raise ValidationFailed(
                "invalid DSN",
                [Detail(None, "dsn", "must name one host and the user (e.g. postgresql://u:p@h:5432/postgres)")],
            )
        port = int(params.get("port") or 5432)
        self.ensure_admin()
        try:
            with psycopg.connect(make_conninfo(dsn, connect_timeout=10), autocommit=True) as conn:
                row = conn.execute(
                    "SELECT rolsuper OR (rolcreatedb AND rolcreaterole) FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
        except psycopg.OperationalError as exc:
            # libpq's message names host, port and user, never the password.
            raise ValidationFailed(
                "the server does not answer", [Detail(None, "dsn", str(exc).strip().splitlines()[0][:300])]
            ) from None
        if not row or not row[0]:
            raise ValidationFailed(
                "the role cannot create tenants there",
                [Detail(None, "dsn", "needs SUPERUSER, or CREATEDB and CREATEROLE")],
            )
        with self.admin_connection() as admin:
            servers = ServerRepository(admin)
            taken = servers.name_at(str(host), port)
            if taken and taken != name:
                raise Conflict(f"{host}:{port} is already registered as server {taken!r}")
            existing = servers.get(name)
            # A row made by the migration for hand-moved tenants (same place, no admin role yet) is completed.
            if existing and (existing.admin_user or (existing.host, existing.port) != (str(host), port)):
                raise Conflict(f"server {name!r} already exists")
            if params.get("password"):
                self.store.put_server_password(name, str(params["password"]))
            servers.insert(name, str(host), port, str(user), str(params.get("dbname") or "postgres"))
        log.info("added server %s (%s:%s)", name, host, port)
        return next(load for load in self.server_loads() if load.name == name)

    def server_loads(self) -> list[ServerLoad]:
        self.ensure_admin()
        with self.admin_connection() as admin:
            return ServerRepository(admin).loads()

    def server_named(self, name: str) -> Server:
        with self.admin_connection() as admin:
            server = ServerRepository(admin).get(name)
        if server is None:
            raise NotFound(f"no server named {name!r}", [Detail(None, "server", "see `seia server list`")])
        return server

    def server_of(self, tenant: Tenant) -> Server:
        with self.admin_connection() as admin:
            state = TenantRepository(admin).move_state(tenant)
            return ServerRepository(admin).by_id(state.server_id)

    def _ensure_role(self, conn: psycopg.Connection, role: str) -> None:
        exists = _role_exists(conn, role)
        password = self.store.password(role) if exists else self.store.create(role)
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        if getattr(self.store, "grants_rds_iam", False):  # RDS Proxy with IAM authentication (template.yaml)
            conn.execute(sql.SQL("GRANT rds_iam TO {}").format(sql.Identifier(role)))

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
    def create_tenant(self, name: str, server_name: str | None = None) -> CreatedTenant:
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
            place = ServerRepository(admin).least_loaded() if server_name is None else None
        place = place or self.server_named(str(server_name))
        with self._server(place) as server:
            if (
                _role_exists(server, role)
                or server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone()
            ):
                raise Conflict(f"database objects for tenant {name!r} already exist; drop them or pick another name")
            self._ensure_role(server, role)
            try:
                self._ensure_database(server, db_name, owner=role)
                self._migrate_tenant_db(place, db_name, role)
                self._fence(server, [role], [db_name])
                key = auth.new_key()
                with self.admin_connection() as admin, admin.transaction():
                    tenant = TenantRepository(admin).insert(name, db_name, role, place.id)
                    # A tenant's first key does everything: its operator makes narrower ones with it.
                    ApiKeyRepository(admin).insert(tenant.id, key.prefix, key.key_hash, [scopes.ADMIN])
            except BaseException:
                server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))
                server.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
                raise
        log.info("created tenant %s on server %s", name, place.name)
        return CreatedTenant(tenant=tenant, api_key=key.key)

    def _migrate_tenant_db(self, server: Server, db_name: str, role: str) -> list[int]:
        with self._server(server, db_name) as conn:
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
        present = {r[0] for r in server.execute("SELECT rolname FROM pg_roles")}
        # A tenant's role exists only on the server of its database (or both, during a move).
        tenants = (set(tenant_roles) | {t.role_name for t in rows}) & present
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

    def create_key(self, tenant_name: str, key_scopes: list[str], expires_at: datetime | None = None) -> str:
        """A new key of the tenant with these scopes (see :mod:`seia.scopes`), valid until ``expires_at``."""
        held = scopes.parse(key_scopes)
        tenant = self.get_tenant(tenant_name)
        key = auth.new_key()
        with self.admin_connection() as admin:
            ApiKeyRepository(admin).insert(tenant.id, key.prefix, key.key_hash, held, expires_at)
        return key.key

    def list_keys(self, tenant_name: str) -> list[KeySummary]:
        tenant = self.get_tenant(tenant_name)
        with self.admin_connection() as admin:
            return ApiKeyRepository(admin).of_tenant(tenant.id)

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
            servers = ServerRepository(admin)
            states = [TenantRepository(admin).move_state(t) for t in tenants]
            places = {s.id: s for s in servers.all()}
        for state in states:
            tenant = state.tenant
            if state.state is not None:
                # A cutover's source is read-only; `seia tenant move` finishes (or aborts), then migrate again.
                tenants_report[tenant.name] = f"skipped: being moved ({state.state})"
                continue
            tenants_report[tenant.name] = self._migrate_tenant_db(
                places[state.server_id], tenant.db_name, tenant.role_name
            )
        fenced: list[str] = []
        for place in places.values():
            if place.is_default or place.admin_user:
                with self._server(place) as server:
                    done = self._fence(server, [], [])
                fenced += done if place.is_default else [f"{place.name}/{db}" for db in done]
        report["fenced"] = fenced
        return report

    def delete_tenant(self, name: str) -> dict:
        """``seia tenant delete``: drop the tenant's database and role (on every server it is on), delete its
        secrets, then its rows of the admin database (keys, signing key, tenant) in one transaction with one audit
        line, the only thing of it that stays. Each part tolerates having been done already, so a delete that
        stopped half way is finished by running it again."""
        self.ensure_admin()
        tenant = self.get_tenant(name)
        with self.admin_connection() as admin:
            state = TenantRepository(admin).move_state(tenant)
            servers = ServerRepository(admin)
            places = [servers.by_id(i) for i in sorted({state.server_id, state.move_to or state.server_id})]
            keys = len(ApiKeyRepository(admin).of_tenant(tenant.id))
        models = 0
        for place in places:
            with self._server(place) as server:
                if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (tenant.db_name,)).fetchone():
                    if place.id == state.server_id:
                        models = self._count_models(place, tenant.db_name)
                    server.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(tenant.db_name))
                    )
                server.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(tenant.role_name)))
        secrets = self.store.forget(tenant.role_name) + SigningSecrets(self.settings).delete(tenant.name)
        details = {
            "servers": [p.name for p in places],
            "models": models,
            "api_keys": keys,
            "secrets_deleted": len(secrets),
            **self._delete_files(tenant.name),
        }
        with self.admin_connection() as admin, admin.transaction():
            # api_keys and signing_keys go with the tenant (ON DELETE CASCADE)
            admin.execute("DELETE FROM tenants WHERE id = %s", (tenant.id,))
            admin.execute(
                "INSERT INTO tenant_audit (tenant, action, details) VALUES (%s, 'deleted', %s)",
                (tenant.name, Jsonb(details)),
            )
        log.info("deleted tenant %s: %s", tenant.name, details)
        return {"tenant": tenant.name, "deleted": True, **details}

    def _delete_files(self, tenant_name: str) -> dict:
        """Every object version under ``<tenant>/`` of the files bucket (dropped files, results), when one is
        configured (SEIA_BUCKET); without one, says that nothing was looked for."""
        from seia import file_objects

        bucket = self.settings.bucket
        if not bucket:
            return {"files_deleted": None, "files": "skipped: no files bucket configured (SEIA_BUCKET)"}
        return {"files_deleted": file_objects.delete_prefix(bucket, f"{tenant_name}/"), "files": f"s3://{bucket}"}

    def _count_models(self, place: Server, db_name: str) -> int:
        try:
            with self._server(place, db_name) as conn:
                found = conn.execute("SELECT count(*) FROM models WHERE parent_id IS NULL").fetchone()
                return int(found[0]) if found else 0
        except psycopg.Error:
            return 0  # a database left half made: nothing of it to count

    def usage(self, name: str | None = None) -> list[dict]:
        """``seia tenant usage``: per model of one tenant (or of every tenant), its raw rows, bytes on disk and
        partitions (:meth:`seia.repositories.models.ModelRepository.usage`)."""
        from seia.repositories.models import ModelRepository

        tenants = [self.get_tenant(name)] if name else self.list_tenant_rows()
        out = []
        for tenant in tenants:
            with self._server(self.server_of(tenant), tenant.db_name) as conn:
                repo = ModelRepository(conn)
                for model in repo.all():
                    tables = repo.usage(model.id)
                    out.append(
                        {
                            "tenant": tenant.name,
                            "model": model.name,
                            # rows of the raw tables; bytes and partitions also count the duplicate keys'
                            "rows": {t.table: t.rows for t in tables if t.table != "prediction_keys"},
                            "bytes": sum(t.bytes for t in tables),
                            "partitions": sum(t.partitions for t in tables),
                            "tables": [t.as_dict() for t in tables],
                        }
                    )
        return out

    def list_tenant_rows(self) -> list[Tenant]:
        with self.admin_connection() as admin:
            return TenantRepository(admin).all()

    def drop_tenant(self, name: str) -> None:
        """Remove a tenant's database, role and keys (tests and operators)."""
        tenant = self.get_tenant(name)
        with self.admin_connection() as admin:
            state = TenantRepository(admin).move_state(tenant)
            places = [ServerRepository(admin).by_id(i) for i in {state.server_id, state.move_to or state.server_id}]
        for place in places:
            with self._server(place) as server:
                server.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(tenant.db_name))
                )
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
