"""Sending to an SQS fair queue: every message in its tenant's message group, ten per call, calls in parallel.

An SQS *fair queue* is a standard queue whose messages carry a ``MessageGroupId`` (no FIFO ordering, no
throughput limit): when one group (here, one tenant) holds a disproportionate share of the messages in
flight, SQS hands the consumers the other groups' messages first, so one tenant's backlog of thousands
of files or models does not delay the others' (docs/fairness.md). The group is the tenant's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

SQS_BATCH = 10  # SendMessageBatch's limit
SEND_CONCURRENCY = 8  # SendMessageBatch calls in flight at once
SEND_ATTEMPTS = 3  # entries that SQS fails inside a batch (throttling, its internal errors) are sent again


@dataclass(frozen=True)
class Outgoing:
    body: str
    group: str | None  # the tenant; None: SQS treats the message as a group of its own


class SendFailed(RuntimeError):
    """SQS still refused some entries after ``SEND_ATTEMPTS`` tries."""


def send_all(sqs: Any, queue_url: str, messages: Sequence[Outgoing], concurrency: int = SEND_CONCURRENCY) -> int:
    """Send every message; returns how many. Raises ``SendFailed`` (or the client's error) otherwise, so the
    caller's own message is delivered again: a message sent twice is harmless to every consumer here."""
    batches = [messages[i : i + SQS_BATCH] for i in range(0, len(messages), SQS_BATCH)]
    if len(batches) <= 1:
        return sum(_send_batch(sqs, queue_url, b) for b in batches)
    with ThreadPoolExecutor(max_workers=min(concurrency, len(batches)), thread_name_prefix="sqs-send") as pool:
        return sum(pool.map(lambda b: _send_batch(sqs, queue_url, b), batches))


def _send_batch(sqs: Any, queue_url: str, batch: Sequence[Outgoing]) -> int:
    entries = {}
    for k, m in enumerate(batch):
        entry = {"Id": str(k), "MessageBody": m.body}
        if m.group is not None:
            entry["MessageGroupId"] = m.group
        entries[str(k)] = entry
    failed: list[dict] = []
    for _ in range(SEND_ATTEMPTS):
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=list(entries.values())).get("Failed") or []
        entries = {f["Id"]: entries[f["Id"]] for f in failed}
        if not entries:
            return len(batch)
    raise SendFailed(f"SQS refused {len(entries)} of {len(batch)} messages: {failed[0].get('Code')}")
