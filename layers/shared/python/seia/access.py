"""What every HTTP function does before its work: find the tenant behind the API key, then the model.

Each function's own service (``seia_ingest.service``, ``seia_query.service``) builds on
:class:`TenantAccess`; it holds the connection pools, never tenant data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seia import auth, naming, telemetry
from seia.config import Settings
from seia.db import Databases, Tenant
from seia.errors import NotFound, Unauthorized
from seia.repositories.admin import ApiKeyRepository
from seia.repositories.models import ModelRepository
from seia.schema import Model


@dataclass(frozen=True)
class Caller:
    """Who sent the request: the key's tenant, its public prefix, its scopes and expiry."""

    tenant: Tenant
    prefix: str
    scopes: tuple[str, ...]
    expires_at: datetime | None

    def as_dict(self) -> dict:
        return {
            "tenant": self.tenant.name,
            "prefix": f"seia_{self.prefix}",
            "scopes": list(self.scopes),
            "expires_at": iso(self.expires_at),
        }


class TenantAccess:
    def __init__(self, settings: Settings, databases: Databases | None = None):
        self.settings = settings
        self.db = databases or Databases(settings)

    def authenticate(self, headers) -> Caller:
        """The tenant and scopes of the bearer key, or 401. Checked on every request: revocation and expiry
        are immediate."""
        key = auth.bearer_key(headers)
        prefix = auth.key_prefix(key)
        if prefix is None:
            raise Unauthorized("invalid API key")
        with self.db.admin() as conn:
            row = ApiKeyRepository(conn).by_prefix(prefix)
        # Same answer for unknown, wrong and revoked keys; the hash is always compared.
        stored = row.key_hash if row else b"\0" * 32
        if not auth.matches(key, stored) or row is None or row.revoked:
            raise Unauthorized("invalid API key")
        if row.expired:
            # Said only to whoever holds the whole key: the prefix alone learns nothing.
            raise Unauthorized(f"this API key expired at {iso(row.expires_at)}; ask an operator for a new one")
        telemetry.append_keys(tenant=row.tenant.name)
        return Caller(tenant=row.tenant, prefix=row.prefix, scopes=row.scopes, expires_at=row.expires_at)

    def _model(self, conn, name: str) -> Model:
        # A name no model can have (e.g. with a NUL byte, which PostgreSQL text refuses) is not looked up.
        model = ModelRepository(conn).get(name) if isinstance(name, str) and naming.is_model_name(name) else None
        if model is None:
            # Same answer whether the model exists in another tenant or nowhere.
            raise NotFound(f"model {str(name)[:64]!r} not found")
        return model


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
