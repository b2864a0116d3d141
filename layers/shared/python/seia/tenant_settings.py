"""Tenant-wide defaults of model settings: ``GET/PUT /v1/settings`` and ``seia settings show|set``.

Two settings have a tenant-wide default, used by every model without its own value:

- ``retention_days`` (tenant migration 0009, ``tenant_defaults``; :func:`seia.partitions.retention_days`
  resolves model → tenant → 90),
- ``notifications`` (tenant migration 0006, ``tenant_settings``; the drift engine's notify step (:func:`seia.channels.in_force`) resolves
  model → tenant; the operator's ``seia tenant notifications T`` writes the same row).

A PUT body is merged as a model's settings are: each key sent replaces the stored one, ``null`` removes it
(back to the built-in default). Every problem is named in one 400 and nothing is written.
"""

from __future__ import annotations

from typing import Any

import psycopg

from seia import channels, partitions
from seia.errors import Detail, ValidationFailed
from seia.registry import REGISTRY
from seia.repositories.deliveries import TenantSettingsRepository

RETENTION = partitions.RETENTION_KEY
NOTIFICATIONS = "notifications"
KEYS = (RETENTION, NOTIFICATIONS)


def stored(conn: psycopg.Connection) -> dict[str, Any]:
    """The tenant's own defaults (keys it has set)."""
    out: dict[str, Any] = {}
    days = partitions.tenant_retention(conn)
    if days is not None:
        out[RETENTION] = days
    found = TenantSettingsRepository(conn).get(NOTIFICATIONS)
    if found is not None:
        out[NOTIFICATIONS] = found
    return out


def in_force(own: dict[str, Any]) -> dict[str, Any]:
    """What a model without its own value gets: the tenant's default, else the built-in one."""
    return {
        RETENTION: own.get(RETENTION, REGISTRY.default(RETENTION)),
        NOTIFICATIONS: own.get(NOTIFICATIONS) or [],
    }


def problems(body: Any, resolve: bool = False) -> list[Detail]:
    if not isinstance(body, dict):
        return [Detail(None, None, 'the body must be a JSON object such as {"retention_days": 30}')]
    out = []
    for key, value in body.items():
        if key not in KEYS:
            out.append(
                Detail(
                    None,
                    str(key)[:64],
                    f"not a tenant-wide setting; use {', '.join(KEYS)} (other settings are per model: "
                    "PUT /v1/models/{model}/settings)",
                )
            )
        elif value is None:
            continue
        elif key == RETENTION:
            problem = REGISTRY.setting(RETENTION).problem(value)
            if problem:
                out.append(Detail(None, RETENTION, f"{problem}, or null (back to the default of 90)"))
        else:
            out += [Detail(None, f"{NOTIFICATIONS}{f}", m) for f, m in channels.problems(value, resolve=resolve)]
    return out


def update(conn: psycopg.Connection, body: Any, resolve: bool = True) -> dict[str, Any]:
    """Apply a PUT body in the caller's transaction; the stored defaults after it. 400 naming each bad key."""
    found = problems(body, resolve=resolve)
    if found:
        raise ValidationFailed("invalid tenant settings", found)
    repo = TenantSettingsRepository(conn)
    for key, value in body.items():
        if key == RETENTION:
            partitions.set_tenant_retention(conn, value)
        elif value is None:
            repo.delete(NOTIFICATIONS)
        else:
            repo.put(NOTIFICATIONS, value)
    return stored(conn)


def as_body(own: dict[str, Any], redact: bool = False) -> dict[str, Any]:
    """The API's answer: the stored defaults and what a model without its own value gets."""
    force = in_force(own)
    if redact:
        own = channels.redacted(own)
        force = channels.redacted(force)
    return {"settings": own, "in_force": force}
