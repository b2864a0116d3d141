"""Drift functions: the scheduled planner and the drift-queue worker.

``planner(event, context)``: EventBridge scheduled event (rate(5 minutes)); sends one message
``{"tenant", "model"}`` per model with work waiting to ``SEIA_DRIFT_QUEUE_URL``.
``worker(event, context)``: SQS batch from the drift queue; returns ``batchItemFailures`` for the
messages that failed, so only those are redelivered (and, after the queue's maxReceiveCount, go to
its dead-letter queue). Logs are JSON lines keyed by request, message, tenant and model; the steps'
counts leave as CloudWatch metrics (see ``seia.telemetry``).
"""

from __future__ import annotations

import functools
import logging
import os

from seia import telemetry
from seia.batch import SQSRecord, process_sqs_batch
from seia.config import get_settings
from seia_drift.db import WorkerDatabases
from seia_drift.engine import DriftEngine
from seia_drift.planner import DriftMessage, pending, send

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
        queue_url = os.environ["SEIA_DRIFT_QUEUE_URL"]
        messages = pending(get_databases())
        sent = send(get_sqs(), queue_url, messages)
        log.info("planner: %d drift messages sent", sent)
        return {"sent": sent}


def worker(event, context) -> dict:
    with telemetry.invocation(context):
        return process_sqs_batch(event, run_message, context)


def run_message(record: SQSRecord) -> None:
    """One drift message: run the model's steps; raises (so the message is delivered again) on failure."""
    with telemetry.keys(message_id=record.message_id):
        try:
            message = DriftMessage.from_json(record.body)
            telemetry.append_keys(tenant=message.tenant, model=message.model)
            tenant = get_databases().tenant_named(message.tenant)
            get_engine().run(tenant, message.model)
        except Exception as exc:
            log.exception("drift message %s failed: %s", record.message_id, type(exc).__name__)
            raise


__all__ = ["planner", "worker"]
