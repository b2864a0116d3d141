"""Sending a batch to its channel. Each send is one attempt with bounded timeouts; a failure is returned as a
short reason (never the URL, which may carry a token) and retried on a later run by the notify step."""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from seia import egress, signing
from seia.channels import Channel
from seia_drift.delivery import messages
from seia_drift.delivery.messages import Batch

SNS_TOPIC_ENV = "SEIA_SNS_TOPIC_ARN"  # the deployment's topic: an `sns` channel without topic_arn
USER_AGENT = "seia-delivery/1"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _http(url: str, body: bytes, headers: dict[str, str]) -> str | None:
    try:
        status = egress.post(url, body, {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    except egress.Refused as exc:
        return f"refused: {exc}"
    except Exception as exc:  # noqa: BLE001 - urllib3's connection, TLS and timeout errors: one short reason
        return type(exc).__name__
    if 200 <= status < 300:
        return None
    return f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")


def send_slack(channel: Channel, batch: Batch) -> str | None:
    return _http(channel.target, _json(messages.slack(batch)), {})


def send_webhook(channel: Channel, batch: Batch, secret: Callable[[], str | None]) -> str | None:
    sent_at = datetime.now(UTC)
    body = _json(messages.seia_json(batch, sent_at))
    headers = {"Idempotency-Key": batch.idempotency_key, "Seia-Event": "incident_changes"}
    try:
        key = secret()
    except Exception as exc:  # noqa: BLE001 - the store (Secrets Manager) unreachable: retried later
        return f"signing secret unavailable ({type(exc).__name__})"
    if key:
        headers[signing.HEADER] = signing.signature(key, int(sent_at.timestamp()), body)
    return _http(channel.target, body, headers)


@functools.lru_cache(maxsize=1)
def sns_client() -> Any:
    """One SNS client per process: short timeouts, no retries (the next run retries)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sns", config=Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"})
    )


def send_sns(channel: Channel, batch: Batch) -> str | None:
    """Publish `batch` (already fitted to SNS's size limit: :func:`messages.fit_sns`)."""
    topic = channel.target or os.environ.get(SNS_TOPIC_ENV, "")
    if not topic:
        return f"no topic: the channel names none and {SNS_TOPIC_ENV} is not set"
    try:
        sns_client().publish(
            TopicArn=topic,
            Subject=messages.sns_subject(batch),
            MessageStructure="json",
            Message=messages.sns_message(batch, datetime.now(UTC)),
            MessageAttributes={
                "tenant": {"DataType": "String", "StringValue": batch.tenant},
                "model": {"DataType": "String", "StringValue": batch.model},
                "severity": {"DataType": "String", "StringValue": batch.severity},
            },
        )
    except Exception as exc:  # noqa: BLE001 - botocore's errors: the code only (AccessDenied, NotFound, ...)
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        return f"SNS {code or type(exc).__name__}"
    return None


def send(channel: Channel, batch: Batch, secret: Callable[[], str | None]) -> tuple[str | None, float]:
    """(error or None, seconds taken)."""
    started = time.perf_counter()
    if channel.type == "slack":
        error = send_slack(channel, batch)
    elif channel.type == "webhook":
        error = send_webhook(channel, batch, secret)
    else:
        error = send_sns(channel, batch)
    return error, time.perf_counter() - started
