"""Names users choose, and the database objects derived from them."""

from __future__ import annotations

import re

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FEATURE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$")
# Tenant names become part of a database and a role name (63 bytes at most in PostgreSQL).
TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def is_model_name(name: object) -> bool:
    return isinstance(name, str) and MODEL_NAME.fullmatch(name) is not None


def is_tenant_name(name: object) -> bool:
    return isinstance(name, str) and TENANT_NAME.fullmatch(name) is not None


def tenant_database(prefix: str, tenant: str) -> str:
    return f"{prefix}_t_{tenant}"


def tenant_role(prefix: str, tenant: str) -> str:
    return f"{prefix}_t_{tenant}"


def admin_database(prefix: str) -> str:
    return f"{prefix}_admin"


def api_role(prefix: str) -> str:
    """The role the HTTP functions use to read tenants and hashed keys in the admin database."""
    return f"{prefix}_api"


def worker_role(prefix: str) -> str:
    """The role the drift planner uses to list tenants (read only, admin database)."""
    return f"{prefix}_worker"
