"""Run the drift steps for one model: each in its own transaction, under the model's lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from seia import telemetry
from seia.db import Databases, Tenant
from seia.errors import NotFound
from seia.legacy import reserved_features, usable_settings
from seia.repositories.admin import SigningKeyRepository
from seia.repositories.models import ModelRepository
from seia.schema import Model
from seia.signing import SigningSecrets
from seia_drift.layout import layout
from seia_drift.repositories.state import StateRepository
from seia_drift.settings import DriftSettings
from seia_drift.steps import DEFAULT_STEPS
from seia_drift.steps.base import Context, Step

log = logging.getLogger(__name__)
# The worker's CloudWatch metrics, read from a step's report once its transaction has committed, so a
# step that rolls back counts nothing: step name -> (report key, metric).
STEP_METRICS = {
    "profile": ("rows", telemetry.ROWS_PROFILED),
    "alerts": ("opened", telemetry.INCIDENTS_OPENED),
    "notify": ("failed", telemetry.DELIVERY_FAILURES),  # failed messages (one per channel at most)
}


class ModelGone(NotFound):
    """The message's model no longer exists (deleted, perhaps while its message waited): nothing to run."""


class DriftEngine:
    """The worker's sequence of steps. A step commits its results and its watermark in one
    transaction, so a crash between steps, or a message delivered twice, redoes nothing twice."""

    def __init__(self, databases: Databases, steps: Sequence[type[Step]] = DEFAULT_STEPS):
        self.db = databases
        self.steps = [cls() for cls in steps]

    def run(self, tenant: Tenant, model_name: str) -> dict[str, Any]:
        """Run every step for the model; returns what each did."""
        report = {}
        with self.db.tenant(tenant) as conn:
            conn.autocommit = True
            try:
                model = ModelRepository(conn).get(model_name)
                if model is None:
                    raise ModelGone(f"model {model_name!r} not found (deleted since the message was sent)")
                settings, findings = _settings(model)
                findings += [f"feature {name!r} is reserved; it is not profiled" for name in reserved_features(model)]
                ctx = Context(
                    conn,
                    model,
                    settings,
                    layout(model),
                    tuple(findings),
                    tenant=tenant,
                    signing_secret=lambda: self.signing_secret(tenant),
                )
                for step in self.steps:
                    started = time.perf_counter()
                    with conn.transaction():
                        StateRepository(conn).lock_model(model.id)
                        # DELETE /v1/models/{model} takes the same lock: a model deleted between two steps is
                        # gone here, and nothing more is written for it
                        if not ModelRepository(conn).exists(model.id):
                            raise ModelGone(f"model {model_name!r} was deleted during its drift run")
                        done = step.run(ctx)
                    ms = 1000 * (time.perf_counter() - started)
                    report[step.name] = done | {"ms": round(ms, 1)}
                    _count(step.name, done)
                    log.info(
                        "drift %s/%s %s: %s (%.0f ms)",
                        tenant.name,
                        model.name,
                        step.name,
                        ", ".join(f"{k}={v}" for k, v in done.items()),
                        ms,
                    )
            finally:
                conn.autocommit = False
        return report

    def signing_secret(self, tenant: Tenant) -> str | None:
        """The tenant's webhook signing secret (``seia tenant signing-secret``), or None when it has none."""
        with self.db.admin() as conn:
            key_id = SigningKeyRepository(conn).key_id(tenant.id)
            conn.commit()
        return SigningSecrets(self.db.settings).secret(tenant.name, key_id) if key_id else None

    def models(self, tenant: Tenant) -> list[str]:
        with self.db.tenant(tenant) as conn:
            return [m.name for m in ModelRepository(conn).all()]


def _count(step: str, done: dict[str, Any]) -> None:
    key, metric = STEP_METRICS.get(step, (None, None))
    value = done.get(key) if key else None
    if metric and isinstance(value, int):
        telemetry.count(metric, value)


def _settings(model: Model) -> tuple[DriftSettings, list[str]]:
    """The model's drift settings; keys an older version stored and today's rules refuse take their defaults."""
    usable, findings = usable_settings(model.settings)
    try:
        return DriftSettings.from_model(usable), findings
    except (ValueError, TypeError) as exc:
        return DriftSettings(), [*findings, f"settings: {exc}; every default applies"]
