"""Admin database: tenants and API keys."""

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


class TenantRepository:
    INSERT = """
        INSERT INTO tenants (name, db_name, role_name) VALUES (%s, %s, %s)
        RETURNING id, name, db_name, role_name, db_host, db_port"""
    BY_NAME = "SELECT id, name, db_name, role_name, db_host, db_port FROM tenants WHERE name = %s"
    ALL = "SELECT id, name, db_name, role_name, db_host, db_port FROM tenants ORDER BY name"
    SUMMARY = """
        SELECT t.name, t.db_name, t.created_at,
               count(k.id) FILTER (WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))
                   AS active_keys
        FROM tenants t LEFT JOIN api_keys k ON k.tenant_id = t.id
        GROUP BY t.id ORDER BY t.name"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(self, name: str, db_name: str, role_name: str) -> Tenant:
        with self.conn.cursor(row_factory=class_row(Tenant)) as cur:
            tenant = cur.execute(self.INSERT, (name, db_name, role_name)).fetchone()
            assert tenant is not None  # INSERT ... RETURNING returns the row
            return tenant

    def get(self, name: str) -> Tenant | None:
        with self.conn.cursor(row_factory=class_row(Tenant)) as cur:
            return cur.execute(self.BY_NAME, (name,)).fetchone()

    def all(self) -> list[Tenant]:
        with self.conn.cursor(row_factory=class_row(Tenant)) as cur:
            return cur.execute(self.ALL).fetchall()

    def summaries(self) -> list[TenantSummary]:
        with self.conn.cursor(row_factory=class_row(TenantSummary)) as cur:
            return cur.execute(self.SUMMARY).fetchall()


class ApiKeyRepository:
    INSERT = "INSERT INTO api_keys (tenant_id, prefix, key_hash, scopes, expires_at) VALUES (%s, %s, %s, %s, %s)"
    BY_PREFIX = """
        SELECT t.id, t.name, t.db_name, t.role_name, t.db_host, t.db_port,
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
            tenant=Tenant(*row[:6]),
            key_hash=bytes(row[6]),
            revoked=row[7],
            prefix=row[8],
            scopes=tuple(row[9]),
            expires_at=row[10],
            expired=row[11],
        )

    def of_tenant(self, tenant_id: int) -> list[KeySummary]:
        with self.conn.cursor(row_factory=class_row(KeySummary)) as cur:
            return cur.execute(self.OF_TENANT, (tenant_id,)).fetchall()

    def revoke(self, prefix: str) -> bool:
        return self.conn.execute(self.REVOKE, (prefix,)).rowcount == 1
