"""Apply numbered migrations, in order, each in its own transaction, recorded in the database.

Every database (the admin one and each tenant's) has a ``schema_migrations`` table. A
transaction-scoped advisory lock serialises concurrent runs, so running twice changes nothing.
Tenant migrations run as the tenant's role (``SET ROLE``), so the tenant owns every object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x5E1A


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load(kind: str) -> list[Migration]:
    """The migrations of ``kind`` ("admin" or "tenant"), ordered by number."""
    folder = resources.files("seia.migrations").joinpath(kind)
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate {kind} migration numbers: {versions}")
    return found


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""


def apply(conn: psycopg.Connection, kind: str, role: str | None = None) -> list[int]:
    """Apply what is missing of ``kind`` on ``conn``; return the versions applied now."""
    applied_now = []
    for migration in load(kind):
        with conn.transaction():
            if role:
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(_CREATE_TABLE)
            done = conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,)).fetchone()
            if done:
                continue
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied_now.append(migration.version)
    return applied_now


def current_version(conn: psycopg.Connection) -> int:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    assert exists is not None  # a SELECT without FROM returns one row
    if not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    assert row is not None  # an aggregate always returns one row
    version: int = row[0]
    return version
