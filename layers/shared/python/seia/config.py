"""Settings, read once per process from the environment.

Locally the environment comes from the Makefile; in AWS from template.yaml.

=========================  ==========================================================  =========================
variable                   meaning                                                     default
=========================  ==========================================================  =========================
DATABASE_URL               superuser DSN of the server (CLI, migrations, tests only)    .local/database_url, else postgresql://postgres@127.0.0.1:5432/postgres
SEIA_DB_HOST / _PORT       where the functions reach PostgreSQL                         host/port of DATABASE_URL
SEIA_DB_PREFIX             prefix of every database and role Seia creates               seia
SEIA_CREDENTIALS           ``derived`` (HMAC of SEIA_SECRET_KEY) or ``secretsmanager``  derived
SEIA_SECRET_KEY            key for derived role passwords (local only)                  contents of .local/secret.key
SEIA_SECRET_PREFIX         Secrets Manager name prefix for role passwords               seia
SEIA_DB_SSLMODE            libpq sslmode for function connections                       prefer
SEIA_DB_MAX_CONNECTIONS    connections one process may hold, across all databases      20 (template.yaml: 2)
=========================  ==========================================================  =========================
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from seia import naming

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MAX_RECORDS = 10_000
MAX_BODY_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    database_url: str
    db_host: str
    db_port: int
    db_prefix: str
    credentials: str
    secret_key: str | None
    secret_prefix: str
    sslmode: str
    bucket: str | None = None
    # Seia alone uses the server (its own instance, `make up`'s private cluster): tenant roles then lose CONNECT
    # on every other database, postgres and template1 included. Off on a shared server, whose other users
    # Seia must not lock out.
    own_server: bool = False
    # Connections one process may hold across every database (seia.db.Databases). A Lambda environment
    # serves one request at a time: template.yaml sets 2 (admin, then the tenant's). The local API host
    # runs up to 20 requests of a function at once in one process (each holds one connection at a time).
    db_max_connections: int = 20

    @property
    def admin_db(self) -> str:
        return naming.admin_database(self.db_prefix)

    @property
    def api_role(self) -> str:
        return naming.api_role(self.db_prefix)

    @property
    def worker_role(self) -> str:
        return naming.worker_role(self.db_prefix)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        from psycopg.conninfo import conninfo_to_dict

        database_url = env.get("DATABASE_URL") or _read_home_file(env, "database_url") or DEFAULT_DATABASE_URL
        parts = conninfo_to_dict(database_url)
        prefix = env.get("SEIA_DB_PREFIX", "seia")
        if not naming.TENANT_NAME.fullmatch(prefix) or len(prefix) > 16 or "-" in prefix:
            raise ValueError("SEIA_DB_PREFIX must be 1-16 characters of [a-z0-9_]")
        return cls(
            database_url=database_url,
            db_host=env.get("SEIA_DB_HOST") or str(parts.get("host") or "127.0.0.1"),
            db_port=int(env.get("SEIA_DB_PORT") or parts.get("port") or 5432),
            db_prefix=prefix,
            credentials=env.get("SEIA_CREDENTIALS", "derived"),
            secret_key=env.get("SEIA_SECRET_KEY") or _read_key_file(env),
            secret_prefix=env.get("SEIA_SECRET_PREFIX", "seia"),
            sslmode=env.get("SEIA_DB_SSLMODE", "prefer"),
            bucket=env.get("SEIA_BUCKET"),
            own_server=env.get("SEIA_DB_OWN_SERVER", "").strip().lower() in ("1", "true", "yes"),
            db_max_connections=int(env.get("SEIA_DB_MAX_CONNECTIONS") or 20),
        )


def seia_home(env=None) -> Path:
    """Local state (``.local/`` of the checkout): the secret key, the DSN ``make up`` chose, logs."""
    env = os.environ if env is None else env
    if env.get("SEIA_HOME"):
        return Path(env["SEIA_HOME"])
    checkout = Path(__file__).resolve().parents[4]
    return checkout / ".local" if (checkout / "Makefile").exists() else Path(".local")


def _read_home_file(env, name: str) -> str | None:
    try:
        return (seia_home(env) / name).read_text().strip() or None
    except OSError:
        return None


def _read_key_file(env) -> str | None:
    if env.get("SEIA_SECRET_KEY_FILE"):
        try:
            return Path(env["SEIA_SECRET_KEY_FILE"]).read_text().strip() or None
        except OSError:
            return None
    return _read_home_file(env, "secret.key")


def load_local_env() -> None:
    """Fill unset variables from ``.local/env``, written by ``make up`` (AWS endpoint, bucket, ...).

    Only the CLI calls this: functions get their whole environment from Lambda (or the local host).
    """
    try:
        lines = (seia_home() / "env").read_text().splitlines()
    except OSError:
        return
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() and key.strip() not in os.environ:
            os.environ[key.strip()] = value.strip()


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings.from_env()
