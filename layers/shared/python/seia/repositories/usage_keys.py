"""The API keys as the usage plan needs them: each prefix and whether it still works."""

from __future__ import annotations

import psycopg


class KeyPrefixRepository:
    ALL = "SELECT prefix, revoked_at IS NOT NULL FROM api_keys ORDER BY id"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def all(self) -> list[tuple[str, bool]]:
        """(prefix, revoked) of every key, oldest first."""
        return [(row[0], row[1]) for row in self.conn.execute(self.ALL).fetchall()]
