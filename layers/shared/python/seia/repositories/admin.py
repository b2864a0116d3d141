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
               count(k.id) FILTER (WHERE k.revoked_at IS NULL) AS active_keys
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
    INSERT = "INSERT INTO api_keys (tenant_id, prefix, key_hash) VALUES (%s, %s, %s)"
    BY_PREFIX = """
        SELECT t.id, t.name, t.db_name, t.role_name, t.db_host, t.db_port,
               k.key_hash, k.revoked_at IS NOT NULL AS revoked
        FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.prefix = %s"""
    REVOKE = "UPDATE api_keys SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def insert(self, tenant_id: int, prefix: str, key_hash: bytes) -> None:
        self.conn.execute(self.INSERT, (tenant_id, prefix, key_hash))

    def by_prefix(self, prefix: str) -> KeyRow | None:
        row = self.conn.execute(self.BY_PREFIX, (prefix,)).fetchone()
        if row is None:
            return None
        return KeyRow(tenant=Tenant(*row[:6]), key_hash=bytes(row[6]), revoked=row[7])

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
