"""The file router: S3's notifications, re-sent one object per message in the tenant's fair-queue group.

S3 event notifications cannot set an SQS ``MessageGroupId``, so the bucket notifies an intake queue
(``FilesQueue``) and this step, which reads no object and opens no database, splits each notification
into one message per object on the fair work queue (``FileWorkQueue``, ``SEIA_FILE_WORK_QUEUE_URL``),
grouped by the key's first segment, the tenant. The file-ingest handler consumes the work queue with
the same message shape (an S3 notification of one record), so one tenant dropping thousands of files
fills its own group and SQS keeps delivering the other tenants' files first (docs/fairness.md).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any

from seia import naming
from seia.batch import SQSRecord
from seia.fair_queue import Outgoing, send_all
from seia_files import keys
from seia_files.events import MalformedMessage, object_records

log = logging.getLogger(__name__)


def tenant_group(key: str) -> str | None:
    """The message group of an object key: its tenant segment, or None for a key that names no tenant
    (the ingest handler answers it with a rejected result)."""
    tenant = key.split("/", 1)[0]
    return tenant if naming.is_tenant_name(tenant) else None


def split(body: str) -> list[Outgoing]:
    """One work message per data object of a notification; none for result objects and test events."""
    return [
        Outgoing(json.dumps({"Records": [record]}), tenant_group(obj.key))
        for obj, record in object_records(body)
        if not keys.is_result_key(obj.key)
    ]


class FileRouter:
    def __init__(self, sqs: Any, work_queue_url: str):
        self.sqs = sqs
        self.work_queue_url = work_queue_url

    def handle(self, record: SQSRecord) -> None:
        """Re-send one intake message; raises (the intake message comes back) if SQS refuses."""
        try:
            messages = split(record.body or "")
        except MalformedMessage as exc:
            log.warning("message %s ignored: %s", record.message_id, exc)
            return
        sent = send_all(self.sqs, self.work_queue_url, messages)
        log.info("message %s: %d file(s) routed", record.message_id, sent)


def get_file_router() -> FileRouter:
    """The process's router (a warm Lambda reuses its SQS client); a new one when the work queue's URL
    changes, as it does between the local stacks that tests start in one process."""
    return _router_for(os.environ["SEIA_FILE_WORK_QUEUE_URL"])


@functools.lru_cache(maxsize=1)
def _router_for(work_queue_url: str) -> FileRouter:
    import boto3

    return FileRouter(boto3.client("sqs"), work_queue_url)
