"""``seia drift run``: the worker's steps, at once, for local use and tests."""

from __future__ import annotations

from typing import Any

from seia.config import Settings
from seia.errors import Detail, ValidationFailed
from seia_drift.db import WorkerDatabases
from seia_drift.engine import DriftEngine


def run_drift(settings: Settings, tenant: str | None = None, model: str | None = None) -> dict[str, Any]:
    """Run every step for the chosen models, as the worker would (worker role, tenant roles).

    Returns ``{tenant: {model: report}}``; a model that fails is reported, the others still run.
    """
    if model and not tenant:
        raise ValidationFailed("--model needs --tenant", [Detail(None, "model", "give --tenant too")])
    databases = WorkerDatabases(settings)
    try:
        engine = DriftEngine(databases)
        tenants = [databases.tenant_named(tenant)] if tenant else databases.tenants()
        out: dict[str, Any] = {}
        for t in tenants:
            for name in [model] if model else engine.models(t):
                try:
                    out.setdefault(t.name, {})[name] = engine.run(t, name)
                except Exception as exc:  # noqa: BLE001 - one model's failure is reported, not fatal
                    out.setdefault(t.name, {})[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return out
    finally:
        databases.close()
