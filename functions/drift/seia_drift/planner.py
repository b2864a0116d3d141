"""The planner: one drift message per (tenant, model) with work waiting."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from seia_drift.db import WorkerDatabases
from seia_drift.repositories.planning import PlanningRepository

log = logging.getLogger(__name__)
SQS_BATCH = 10


@dataclass(frozen=True)
class DriftMessage:
    """The body of a drift-queue message: ``{"tenant": "...", "model": "..."}``."""

    tenant: str
    model: str

    def to_json(self) -> str:
        return json.dumps({"tenant": self.tenant, "model": self.model}, sort_keys=True)

    @classmethod
    def from_json(cls, body: str) -> DriftMessage:
        data = json.loads(body)
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("tenant"), str)
            or not isinstance(data.get("model"), str)
        ):
            raise ValueError('a drift message is {"tenant": str, "model": str}')
        return cls(data["tenant"], data["model"])


def pending(databases: WorkerDatabases) -> list[DriftMessage]:
    """Every (tenant, model) with new rows, new labels or a new reference. A tenant whose database
    cannot be read is logged and skipped, so one tenant never stops the others."""
    out: list[DriftMessage] = []
    for tenant in databases.tenants():
        try:
            with databases.tenant(tenant) as conn:
                names = PlanningRepository(conn).pending_models()
                conn.commit()
        except Exception as exc:  # noqa: BLE001 - reported, the other tenants go on
            log.warning("planner: tenant %s skipped: %s", tenant.name, type(exc).__name__)
            continue
        out.extend(DriftMessage(tenant.name, name) for name in names)
    return out


def send(sqs: Any, queue_url: str, messages: list[DriftMessage]) -> int:
    """Send the messages in batches of ten; raises if SQS rejects any."""
    sent = 0
    for i in range(0, len(messages), SQS_BATCH):
        batch = messages[i : i + SQS_BATCH]
        reply = sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(k), "MessageBody": m.to_json()} for k, m in enumerate(batch)]
        )
        if reply.get("Failed"):
            raise RuntimeError(f"SQS rejected {len(reply['Failed'])} drift messages")
        sent += len(batch)
    return sent
