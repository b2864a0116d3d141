"""Drift functions: the scheduled planner and the drift-queue worker.

``planner(event, context)``: EventBridge scheduled event (rate(5 minutes)); sends one message
``{"tenant"}`` per tenant to ``SEIA_DRIFT_QUEUE_URL``, reading the admin database only.
``worker(event, context)``: SQS batch from the drift queue. ``{"tenant"}``: sends one
``{"tenant", "model"}`` per model of that tenant with work waiting, back to the same queue;
``{"tenant", "model"}``: runs the model's steps. Every message is in its tenant's fair-queue group
(``seia_drift.planner``). Returns ``batchItemFailures`` for the messages that failed, so only those are
redelivered (and, after the queue's maxReceiveCount, go to its dead-letter queue). Logs are JSON lines keyed by request, message, tenant and model; the steps'
counts leave as CloudWatch metrics (see ``seia.telemetry``).
"""

from __future__ import annotations

import functools
import logging
import os

from seia import telemetry
from seia.batch import SQSRecord, process_sqs_batch
from seia.config import get_settings
from seia.errors import NotFound
from seia_drift.db import WorkerDatabases
from seia_drift.engine import DriftEngine
from seia_drift.planner import DriftMessage, PlanMessage, parse, paused, pending_models, plan, send

log = logging.getLogger("seia.drift")
telemetry.setup()


@functools.lru_cache(maxsize=1)
def get_databases() -> WorkerDatabases:
    return WorkerDatabases(get_settings())


@functools.lru_cache(maxsize=1)
def get_engine() -> DriftEngine:
    return DriftEngine(get_databases())


@functools.lru_cache(maxsize=1)
def get_sqs():
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL")
    return boto3.client("sqs", endpoint_url=endpoint or None)


def planner(event, context) -> dict:
    with telemetry.invocation(context):
        sent = send(get_sqs(), os.environ["SEIA_DRIFT_QUEUE_URL"], plan(get_databases().tenants()))
        log.info("planner: %d tenants planned", sent)
        return {"sent": sent}


def worker(event, context) -> dict:
    with telemetry.invocation(context):
        return process_sqs_batch(event, run_message, context)


def run_message(record: SQSRecord) -> None:
    """One drift-queue message: plan a tenant or run a model's steps; raises (so the message is delivered
    again) on failure."""
    with telemetry.keys(message_id=record.message_id):
        try:
            message = parse(record.body)
            if isinstance(message, PlanMessage):
                plan_tenant(message)
                return
            telemetry.append_keys(tenant=message.tenant, model=message.model)
            tenant = get_databases().tenant_named(message.tenant)
            get_engine().run(tenant, message.model)
        except NotFound as exc:
            # The model (or its tenant) was deleted while its message waited or ran: there is nothing to do, and
            # raising would only deliver the message again until the dead-letter queue.
            log.info("drift message %s dropped: %s", record.message_id, exc.message)
        except Exception as exc:
            log.exception("drift message %s failed: %s", record.message_id, type(exc).__name__)
            raise


def plan_tenant(message: PlanMessage) -> None:
    """Queue one DriftMessage per model of the tenant with work waiting. A tenant deleted or paused since the
    schedule ran has nothing to plan now: its message is done, not retried."""
    telemetry.append_keys(tenant=message.tenant)
    databases = get_databases()
    try:
        tenant = databases.tenant_named(message.tenant)
    except NotFound:
        log.info("planner: tenant %s no longer exists; nothing planned", message.tenant)
        return
    if paused(tenant):
        log.info("planner: tenant %s is paused for a move; the next schedule plans it", message.tenant)
        return
    models: list[DriftMessage] = pending_models(databases, tenant)
    sent = send(get_sqs(), os.environ["SEIA_DRIFT_QUEUE_URL"], models)
    log.info("planner: %d models of tenant %s queued", sent, message.tenant)


__all__ = ["planner", "worker"]
