"""Where the database roles' passwords live.

Two stores, chosen by ``SEIA_CREDENTIALS``:

* ``secretsmanager`` (AWS): one secret per role, ``<SEIA_SECRET_PREFIX>/db/<role>``, a JSON object
  ``{"username", "password"}``. The CLI writes it when it creates the role; functions read it.
* ``derived`` (local): the password is HMAC-SHA256(SEIA_SECRET_KEY, role). Nothing is stored; the
  key lives in ``.local/secret.key`` (mode 0600) or the environment.
* ``iam`` (AWS, through RDS Proxy with end-to-end IAM authentication): the password is a 15-minute IAM
  token for (SEIA_DB_HOST, SEIA_DB_PORT, role), signed locally; nothing is stored. Roles are granted
  ``rds_iam`` when created.

A database server added with ``seia server add`` (its admin role's password) is kept by the same store:
``<SEIA_SECRET_PREFIX>/server/<name>`` in Secrets Manager, or ``servers/<name>`` (mode 0600) under the local
state folder (``.local/``) with derived credentials.

Passwords are never logged and never part of an error message.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Protocol

from seia.config import Settings, seia_home


class CredentialStore(Protocol):
    def password(self, role: str) -> str: ...

    def create(self, role: str) -> str: ...

    def server_password(self, server: str) -> str | None: ...

    def put_server_password(self, server: str, password: str) -> None: ...

    def forget(self, role: str) -> list[str]: ...


class DerivedCredentials:
    def __init__(self, secret_key: str, folder: Path | None = None):
        if not secret_key:
            raise ValueError("SEIA_SECRET_KEY (or .local/secret.key) is required for derived credentials")
        self._key = secret_key.encode()
        self._servers = (folder or seia_home()) / "servers"

    def password(self, role: str) -> str:
        digest = hmac.new(self._key, role.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def create(self, role: str) -> str:
        return self.password(role)

    def forget(self, role: str) -> list[str]:
        """Nothing is stored for a role: its password is derived (and useless once the role is dropped)."""
        return []

    def server_password(self, server: str) -> str | None:
        try:
            return (self._servers / server).read_text()
        except FileNotFoundError:
            return None

    def put_server_password(self, server: str, password: str) -> None:
        self._servers.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._servers / server
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password)


class SecretsManagerCredentials:
    def __init__(self, client, prefix: str):
        self._client = client
        self._prefix = prefix.rstrip("/")

    def _name(self, role: str) -> str:
        return f"{self._prefix}/db/{role}"

    def _put(self, name: str, body: str) -> None:
        try:
            self._client.create_secret(Name=name, SecretString=body)
        except self._client.exceptions.ResourceExistsException:
            self._client.put_secret_value(SecretId=name, SecretString=body)

    def password(self, role: str) -> str:
        value = self._client.get_secret_value(SecretId=self._name(role))["SecretString"]
        return json.loads(value)["password"]

    def create(self, role: str) -> str:
        password = secrets.token_urlsafe(32)
        self._put(self._name(role), json.dumps({"username": role, "password": password}))
        return password

    def forget(self, role: str) -> list[str]:
        """Delete the role's secret at once (no recovery window: the role it opened is dropped); the names deleted."""
        try:
            self._client.delete_secret(SecretId=self._name(role), ForceDeleteWithoutRecovery=True)
        except self._client.exceptions.ResourceNotFoundException:
            return []
        return [self._name(role)]

    def server_password(self, server: str) -> str | None:
        try:
            value = self._client.get_secret_value(SecretId=f"{self._prefix}/server/{server}")["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            return None
        return json.loads(value)["password"]

    def put_server_password(self, server: str, password: str) -> None:
        self._put(f"{self._prefix}/server/{server}", json.dumps({"password": password}))


class IamCredentials:
    """RDS IAM authentication tokens; each connection asks for a fresh one (seia.db reads it at connect time).
    The admin passwords of added servers (``seia server add``), which IAM does not replace, stay in Secrets
    Manager."""

    grants_rds_iam = True

    def __init__(self, client, host: str, port: int, servers: SecretsManagerCredentials | None = None):
        self._client = client
        self._host = host
        self._port = port
        self._servers = servers

    def password(self, role: str) -> str:
        return self._client.generate_db_auth_token(DBHostname=self._host, Port=self._port, DBUsername=role)

    def create(self, role: str) -> str:
        # A password nobody uses: PostgreSQL roles need one to LOGIN with, the proxy authenticates with IAM.
        return secrets.token_urlsafe(32)

    def forget(self, role: str) -> list[str]:
        return []  # tokens are signed per connection; nothing is stored

    def server_password(self, server: str) -> str | None:
        return self._servers.server_password(server) if self._servers else None

    def put_server_password(self, server: str, password: str) -> None:
        if self._servers is None:
            raise ValueError("server passwords need Secrets Manager beside IAM authentication")
        self._servers.put_server_password(server, password)


@functools.lru_cache(maxsize=4)
def _store_for(settings: Settings) -> CredentialStore:
    if settings.credentials == "secretsmanager":
        import boto3

        return SecretsManagerCredentials(boto3.client("secretsmanager"), settings.secret_prefix)
    if settings.credentials == "derived":
        return DerivedCredentials(settings.secret_key or "")
    if settings.credentials == "iam":
        import boto3

        servers = SecretsManagerCredentials(boto3.client("secretsmanager"), settings.secret_prefix)
        return IamCredentials(boto3.client("rds"), settings.db_host, settings.db_port, servers)
    raise ValueError(f"SEIA_CREDENTIALS must be 'derived', 'secretsmanager' or 'iam', not {settings.credentials!r}")


def get_store(settings: Settings) -> CredentialStore:
    return _store_for(settings)


def new_secret_key() -> str:
    return secrets.token_urlsafe(32)
