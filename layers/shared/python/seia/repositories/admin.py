"""Admin database: tenants, the servers they live on, and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from seia.db import Tenant


@dataclass(frozen=True)
class KeyRow:
    tenant: Tenant
    key_hash: bytes
    revoked: bool
    prefix: str = ""
    scopes: tuple[str, ...] = ()
    expires_at: datetime | None = None
    expired: bool = False  # by the database's clock, when the row was read


@dataclass(frozen=True)
class KeySummary:
    """A key as ``seia key list`` shows it: never the key nor its hash."""

    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    expired: bool


@dataclass(frozen=True)
class TenantSummary:
    name: str
    db_name: str
    created_at: datetime
    active_keys: int
    server: str
    move_state: str | None


@dataclass(frozen=True)
class Server:
    id: int
    name: str
    # None on the server named 'default' (DATABASE_URL, SEIA_DB_HOST/PORT).
    host: str | None
    port: int | None
    admin_user: str | None
    admin_db: str | None

    @property
    def is_default(self) -> bool:
        return self.host is None


@dataclass(frozen=True)
class ServerLoad:
    name: str
    host: str | None
    port: int | None
    # The load placement compares: how many tenants live on the server (a move counts on both sides).
    tenants: int


@dataclass(frozen=True)
class MoveState:
    """A tenant's place and the move in progress, as the admin row records it."""

    tenant: Tenant
    server_id: int
    state: str | None
    move_from: int | None
    move_to: int | None


_TENANT = "id, name, db_name, role_name, db_host, db_port, epoch, paused_until"


class TenantRepository:
    INSERT = f"""
        INSERT INTO tenants (name, db_name, role_name, server_id, db_host, db_port)
        SELECT %s, %s, %s, id, host, port FROM servers WHERE id = %s
        RETURNING {_TENANT}"""
    BY_NAME = f"SELECT {_TENANT} FROM tenants WHERE name = %s"
    ALL = f"SELECT {_TENANT} FROM tenants ORDER BY name"
    ON_SERVER = f"SELECT {_TENANT} FROM tenants WHERE server_id = %s OR move_to = %s ORDER BY name"
    SUMMARY = """
        SELECT t.name, t.db_name, t.created_at,
               count(k.id) FILTER (WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))
                   AS active_keys,
               s.name AS server, t.move_state
        FROM tenants t JOIN servers s ON s.id = t.server_id LEFT JOIN api_keys k ON k.tenant_id = t.id
        GROUP BY t.id, s.name ORDER BY t.name"""
    MOVE_STATE = "SELECT server_id, move_state, move_from, move_to FROM tenants WHERE id = %s FOR UPDATE"
    BEGIN_MOVE = """
        UPDATE tenants SET move_state = 'copying', move_from = server_id, move_to = %s
        WHERE id = %s AND move_state IS NULL"""
    PAUSE = "UPDATE tenants SET move_state = 'cutover', paused_until = now() + %s * interval '1 second' WHERE id = %s"
    # The switch: the tenant's place changes in one row, and its epoch tells every function to reconnect.
    SWITCH = """
        UPDATE tenants t SET server_id = s.id, db_host = s.host, db_port = s.port, epoch = t.epoch + 1,
                             move_state = 'switched', paused_until = NULL
        FROM servers s WHERE s.id = t.move_to AND t.id = %s AND t.move_state = 'cutover'"""
    END_MOVE = (
        "UPDATE tenants SET move_state = NULL, move_from = NULL, move_to = NULL, paused_until = NULL WHERE id = %s"
    )

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(self, name: str, db_name: str, role_name: str, server_id: int) -> Tenant:
        with self.conn.cursor(row_factory=class_row(Tenant)) as cur:
            tenant = cur.execute(self.INSERT, (name, db_name, role_name, server_id)).fetchone()
            assert tenant is not None  # the server exists: the caller just read it
            return tenant

    def get(self, name: str) -> Tenant | None:
        with self.conn.cursor(row_factory=class_row(Tenant)) as cur:
            return cur.execute(self.BY_NAME, (name,)).fetchone()

    def all(self) -> list[Tenant]:
        with self.conn.cursor(row_factory=class_row(Tenant)) as cur:
            return cur.execute(self.ALL).fetchall()

    def on_server(self, server_id: int) -> list[Tenant]:
        """The tenants whose database is on the server, or is being copied there."""
        with self.conn.cursor(row_factory=class_row(Tenant)) as cur:
            return cur.execute(self.ON_SERVER, (server_id, server_id)).fetchall()

    def summaries(self) -> list[TenantSummary]:
        with self.conn.cursor(row_factory=class_row(TenantSummary)) as cur:
            return cur.execute(self.SUMMARY).fetchall()

    def move_state(self, tenant: Tenant) -> MoveState:
        """The row's place and move, locked until the caller's transaction ends."""
        row = self.conn.execute(self.MOVE_STATE, (tenant.id,)).fetchone()
        assert row is not None  # the caller holds the tenant's move lock; tenants are not dropped under it
        return MoveState(tenant, *row)

    def begin_move(self, tenant_id: int, to_server: int) -> bool:
        return self.conn.execute(self.BEGIN_MOVE, (to_server, tenant_id)).rowcount == 1

    def pause(self, tenant_id: int, seconds: float) -> None:
        self.conn.execute(self.PAUSE, (seconds, tenant_id))

    def switch(self, tenant_id: int) -> bool:
        return self.conn.execute(self.SWITCH, (tenant_id,)).rowcount == 1

    def end_move(self, tenant_id: int) -> None:
        self.conn.execute(self.END_MOVE, (tenant_id,))


class ServerRepository:
    _COLUMNS = "id, name, host, port, admin_user, admin_db"
    INSERT = f"""
        INSERT INTO servers (name, host, port, admin_user, admin_db) VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET admin_user = excluded.admin_user, admin_db = excluded.admin_db
        WHERE servers.admin_user IS NULL AND servers.host = excluded.host AND servers.port = excluded.port
        RETURNING {_COLUMNS}"""
    BY_NAME = f"SELECT {_COLUMNS} FROM servers WHERE name = %s"
    BY_ID = f"SELECT {_COLUMNS} FROM servers WHERE id = %s"
    ALL = f"SELECT {_COLUMNS} FROM servers ORDER BY id"
    BY_PLACE = "SELECT name FROM servers WHERE host = %s AND port = %s"
    # Load: tenants on the server, plus those being moved there. Ties go to the older server.
    LOADS = """
        SELECT s.name, s.host, s.port, count(t.id) AS tenants
        FROM servers s LEFT JOIN tenants t ON t.server_id = s.id OR t.move_to = s.id
        GROUP BY s.id ORDER BY count(t.id), s.id"""
    LEAST_LOADED = """
        SELECT s.id, s.name, s.host, s.port, s.admin_user, s.admin_db
        FROM servers s LEFT JOIN tenants t ON t.server_id = s.id OR t.move_to = s.id
        WHERE s.host IS NULL OR s.admin_user IS NOT NULL
        GROUP BY s.id ORDER BY count(t.id), s.id LIMIT 1"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(self, name: str, host: str, port: int, admin_user: str, admin_db: str) -> Server | None:
        """The new server (or the completed row made for hand-moved tenants); None when the name is taken."""
        with self.conn.cursor(row_factory=class_row(Server)) as cur:
            return cur.execute(self.INSERT, (name, host, port, admin_user, admin_db)).fetchone()

    def get(self, name: str) -> Server | None:
        with self.conn.cursor(row_factory=class_row(Server)) as cur:
            return cur.execute(self.BY_NAME, (name,)).fetchone()

    def by_id(self, server_id: int) -> Server:
        with self.conn.cursor(row_factory=class_row(Server)) as cur:
            server = cur.execute(self.BY_ID, (server_id,)).fetchone()
            assert server is not None  # tenants reference servers by foreign key
            return server

    def all(self) -> list[Server]:
        with self.conn.cursor(row_factory=class_row(Server)) as cur:
            return cur.execute(self.ALL).fetchall()

    def name_at(self, host: str, port: int) -> str | None:
        row = self.conn.execute(self.BY_PLACE, (host, port)).fetchone()
        return row[0] if row else None

    def loads(self) -> list[ServerLoad]:
        with self.conn.cursor(row_factory=class_row(ServerLoad)) as cur:
            return cur.execute(self.LOADS).fetchall()

    def least_loaded(self) -> Server:
        with self.conn.cursor(row_factory=class_row(Server)) as cur:
            server = cur.execute(self.LEAST_LOADED).fetchone()
            assert server is not None  # the migration creates the default server
            return server


class ApiKeyRepository:
    INSERT = "INSERT INTO api_keys (tenant_id, prefix, key_hash, scopes, expires_at) VALUES (%s, %s, %s, %s, %s)"
    BY_PREFIX = """
        SELECT t.id, t.name, t.db_name, t.role_name, t.db_host, t.db_port, t.epoch, t.paused_until,
               k.key_hash, k.revoked_at IS NOT NULL AS revoked,
               k.prefix, k.scopes, k.expires_at, coalesce(k.expires_at <= now(), false) AS expired
        FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.prefix = %s"""
    OF_TENANT = """
        SELECT 'seia_' || prefix AS prefix, scopes, created_at, expires_at, revoked_at,
               coalesce(expires_at <= now(), false) AS expired
        FROM api_keys WHERE tenant_id = %s ORDER BY created_at, id"""
    REVOKE = "UPDATE api_keys SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(
        self, tenant_id: int, prefix: str, key_hash: bytes, scopes: list[str], expires_at: datetime | None = None
    ) -> None:
        self.conn.execute(self.INSERT, (tenant_id, prefix, key_hash, list(scopes), expires_at))

    def by_prefix(self, prefix: str) -> KeyRow | None:
        row = self.conn.execute(self.BY_PREFIX, (prefix,)).fetchone()
        if row is None:
            return None
        return KeyRow(
            tenant=Tenant(*row[:8]),
            key_hash=bytes(row[8]),
            revoked=row[9],
            prefix=row[10],
            scopes=tuple(row[11]),
            expires_at=row[12],
            expired=row[13],
        )

    def of_tenant(self, tenant_id: int) -> list[KeySummary]:
        with self.conn.cursor(row_factory=class_row(KeySummary)) as cur:
            return cur.execute(self.OF_TENANT, (tenant_id,)).fetchall()

    def revoke(self, prefix: str) -> bool:
        return self.conn.execute(self.REVOKE, (prefix,)).rowcount == 1


class SigningKeyRepository:
    """Which signing secret a tenant has (its id): the secret itself lives in :mod:`seia.signing`'s store."""

    UPSERT = """
        INSERT INTO signing_keys (tenant_id, key_id) VALUES (%s, %s)
        ON CONFLICT (tenant_id) DO UPDATE SET key_id = excluded.key_id, created_at = now()"""
    GET = "SELECT key_id FROM signing_keys WHERE tenant_id = %s"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def put(self, tenant_id: int, key_id: str) -> None:
        self.conn.execute(self.UPSERT, (tenant_id, key_id))

    def key_id(self, tenant_id: int) -> str | None:
        row = self.conn.execute(self.GET, (tenant_id,)).fetchone()
        return row[0] if row else None
