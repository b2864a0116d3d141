"""Run the drift steps for one model: each in its own transaction, under the model's lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from seia import telemetry
from seia.db import Databases, Tenant
from seia.errors import NotFound
from seia.legacy import reserved_features, usable_settings
from seia.repositories.admin import SigningKeyRepository
from seia.repositories.models import ModelRepository
from seia.schema import Model
from seia.segment_rows import rows_of, segment_fields, split
from seia.signing import SigningSecrets
from seia_drift.layout import layout
from seia_drift.repositories.segment_models import SegmentModelRepository
from seia_drift.repositories.state import StateRepository
from seia_drift.settings import DriftSettings
from seia_drift.steps import DEFAULT_STEPS
from seia_drift.steps.base import Context, Step
from seia_drift.steps.segment_values import SegmentValuesStep

log = logging.getLogger(__name__)
# The worker's CloudWatch metrics, read from a step's report once its transaction has committed, so a
# step that rolls back counts nothing: step name -> (report key, metric).
STEP_METRICS = {
    "profile": ("rows", telemetry.ROWS_PROFILED),
    "alerts": ("opened", telemetry.INCIDENTS_OPENED),
    "notify": ("failed", telemetry.DELIVERY_FAILURES),  # failed messages (one per channel at most)
}
# Steps a segment model does not run: the parent's audit covers their rows (which are the parent's).
PARENT_ONLY = ("audit",)


class ModelGone(NotFound):
    """The message's model no longer exists (deleted, perhaps while its message waited): nothing to run."""


class DriftEngine:
    """The worker's sequence of steps. A step commits its results and its watermark in one
    transaction, so a crash between steps, or a message delivered twice, redoes nothing twice."""

    def __init__(self, databases: Databases, steps: Sequence[type[Step]] = DEFAULT_STEPS):
        self.db = databases
        self.steps = [cls() for cls in steps]
        self.segment_values = SegmentValuesStep()

    def run(self, tenant: Tenant, model_name: str) -> dict[str, Any]:
        """Run every step for the model, then for each of its segment models; returns what each did."""
        report: dict[str, Any] = {}
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
                self._steps(ctx, self.steps, model, report)
                if segment_fields(model):
                    self._steps(ctx, [self.segment_values], model, report)
                    segments: dict[str, Any] = {}
                    for child in self._segment_contexts(ctx):
                        done: dict[str, Any] = {}
                        segments[child.model.segment or ""] = done
                        self._steps(child, [s for s in self.steps if s.name not in PARENT_ONLY], model, done)
                    report["segments"] = segments
            finally:
                conn.autocommit = False
        return report

    def _steps(self, ctx: Context, steps: Sequence[Step], parent: Model, report: dict[str, Any]) -> None:
        """Each step in its own transaction under the (parent) model's lock: DELETE /v1/models/{model} takes the
        same lock, and a segment model goes with its parent."""
        conn, model = ctx.conn, ctx.model
        for step in steps:
            started = time.perf_counter()
            with conn.transaction():
                StateRepository(conn).lock_model(parent.id)
                # a model deleted between two steps is gone here, and nothing more is written for it
                if not ModelRepository(conn).exists(model.id):
                    raise ModelGone(f"model {parent.name!r} was deleted during its drift run")
                done = step.run(ctx)
            ms = 1000 * (time.perf_counter() - started)
            report[step.name] = done | {"ms": round(ms, 1)}
            if ctx.segment_rows is None:  # a segment model's rows are its parent's, counted there
                _count(step.name, done)
            log.info(
                "drift %s/%s %s: %s (%.0f ms)",
                ctx.tenant.name if ctx.tenant else "",
                model.name,
                step.name,
                ", ".join(f"{k}={v}" for k, v in done.items()),
                ms,
            )

    def _segment_contexts(self, ctx: Context) -> list[Context]:
        """A context per segment model of the parent's: its definition and settings are the parent's (its own
        settings, if any, over them); its rows are the parent's of its value (:class:`Rows`)."""
        parent = ctx.model
        fields = segment_fields(parent)
        with ctx.conn.transaction():
            children = SegmentModelRepository(ctx.conn).children(parent.id)
        siblings = [c.segment or "" for c in children]
        out = []
        for child in children:
            field, _ = split(child.segment or "")
            if field not in fields:
                continue  # a field no longer declared (fields are only ever appended: never, in practice)
            model = replace(
                parent,
                id=child.id,
                name=child.name,
                settings=parent.settings | child.settings,
                parent_id=parent.id,
                segment=child.segment,
                segments=(),
            )
            rows = rows_of(parent, child.segment or "", siblings)
            out.append(
                Context(
                    ctx.conn,
                    model,
                    ctx.settings,
                    layout(model),
                    (),
                    tenant=ctx.tenant,
                    signing_secret=ctx.signing_secret,
                    segment_rows=rows,
                )
            )
        return out

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
