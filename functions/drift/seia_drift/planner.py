"""The planner, in two hops, each message in its tenant's SQS fair-queue group.

1. The schedule's planner reads the tenants from the admin database (one query) and sends one
   ``{"tenant": T}`` message per tenant. It opens no tenant database, so 1,000 tenants cost it one
   query and 100 ``SendMessageBatch`` calls, and a slow or unreachable tenant delays nobody's plan.
2. The worker, given ``{"tenant": T}``, asks T's database which models have work waiting and sends one
   ``{"tenant": T, "model": M}`` message per model; given that, it runs the model's steps.

Every message carries ``MessageGroupId`` = the tenant: on an SQS fair queue (a standard queue whose
messages carry a group) a tenant with a backlog no longer delays the others' messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from seia import partitions
from seia.db import Tenant
from seia.fair_queue import Outgoing, send_all
from seia_drift.db import WorkerDatabases
from seia_drift.repositories.planning import PlanningRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanMessage:
    """``{"tenant": "..."}``: find the tenant's models with work waiting and queue one DriftMessage each."""

    tenant: str

    def to_json(self) -> str:
        return json.dumps({"tenant": self.tenant})


@dataclass(frozen=True)
class DriftMessage:
    """``{"tenant": "...", "model": "..."}``: run the model's drift steps."""

    tenant: str
    model: str

    def to_json(self) -> str:
        return json.dumps({"tenant": self.tenant, "model": self.model}, sort_keys=True)

    @classmethod
    def from_json(cls, body: str) -> DriftMessage:
        message = parse(body)
        if not isinstance(message, DriftMessage):
            raise ValueError('a drift message is {"tenant": str, "model": str}')
        return message


Message = PlanMessage | DriftMessage


def parse(body: str) -> Message:
    """A drift-queue body: ``{"tenant"}`` plans the tenant, ``{"tenant", "model"}`` runs a model."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("tenant"), str) or set(data) - {"tenant", "model"}:
        raise ValueError('a drift-queue message is {"tenant": str} or {"tenant": str, "model": str}')
    if "model" not in data:
        return PlanMessage(data["tenant"])
    if not isinstance(data["model"], str):
        raise ValueError('a drift-queue message is {"tenant": str} or {"tenant": str, "model": str}')
    return DriftMessage(data["tenant"], data["model"])


def plan(tenants: Sequence[Tenant], now: datetime | None = None) -> list[PlanMessage]:
    """One message per tenant of the admin database that is not paused. A deleted tenant has no row; a
    tenant paused for a move's cutover is planned by the next schedule, once its database is in place."""
    now = now or datetime.now(UTC)
    return [PlanMessage(t.name) for t in tenants if not paused(t, now)]


def paused(tenant: Tenant, now: datetime | None = None) -> bool:
    """Whether a move to another server holds the tenant's writes now (``paused_until``, admin migration 0003)."""
    until = tenant.paused_until
    return until is not None and until > (now or datetime.now(UTC))


def maintain_partitions(conn: psycopg.Connection, tenant: str, now: datetime | None = None) -> None:
    """Per model, in a transaction of its own: raw-row leaves ready ``partitions.AHEAD``, then one bounded
    batch of retention (``partitions.maintain``). A model whose DROP waits too long for its readers is skipped
    until the next plan; the others go on."""
    # segment models have no raw rows nor partitions of their own
    models = conn.execute("SELECT id, name, settings FROM models WHERE parent_id IS NULL ORDER BY id").fetchall()
    conn.commit()
    for model_id, name, settings in models:
        try:
            with conn.transaction():
                dropped = partitions.maintain(conn, model_id, settings, now)
        except psycopg.errors.LockNotAvailable:
            log.info("planner: tenant %s model %s: retention waits for readers; next plan", tenant, name)
            continue
        if dropped.leaves or dropped.keys:
            log.info(
                "planner: tenant %s model %s: %d raw partitions and %d expired keys dropped (horizon %s)%s",
                tenant,
                name,
                len(dropped.leaves),
                dropped.keys,
                dropped.horizon.isoformat() if dropped.horizon else "-",
                "; more next plan" if dropped.more else "",
            )


def pending_models(databases: WorkerDatabases, tenant: Tenant) -> list[DriftMessage]:
    """The tenant's models with new rows, new labels or a new reference; the tenant's pool is closed after.
    Its raw-row partitions are maintained first (``maintain_partitions``)."""
    try:
        with databases.tenant(tenant) as conn:
            maintain_partitions(conn, tenant.name)
            conn.commit()
            names = PlanningRepository(conn).pending_models()
            conn.commit()
    finally:
        databases.release(tenant)
    return [DriftMessage(tenant.name, name) for name in names]


def pending(databases: WorkerDatabases) -> list[DriftMessage]:
    """Every tenant's pending models, in one process (``seia drift run``, tests). A tenant whose database
    cannot be read is logged and skipped, so one tenant never stops the others."""
    out: list[DriftMessage] = []
    for tenant in databases.tenants():
        try:
            out.extend(pending_models(databases, tenant))
        except Exception as exc:  # noqa: BLE001 - reported, the other tenants go on
            log.warning("planner: tenant %s skipped: %s", tenant.name, type(exc).__name__)
    return out


def send(sqs: Any, queue_url: str, messages: Sequence[Message]) -> int:
    """Send the messages, each in its tenant's group (``seia.fair_queue``); raises if SQS refuses any."""
    return send_all(sqs, queue_url, [Outgoing(m.to_json(), m.tenant) for m in messages])
