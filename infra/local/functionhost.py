"""The local Lambda service: long-polls each queue of the template and invokes its handler.

For every consumer in the ``LocalPlan`` (an SQS event source, or a schedule delivered to a local
queue) a thread receives up to BatchSize messages, hands the handler a Lambda-shaped SQS event, and
deletes only what succeeded: with ``ReportBatchItemFailures`` the failed ``itemIdentifier``s stay in
the queue; an exception leaves the whole batch. Failed messages come back after a short local
visibility (``SEIA_LOCAL_RETRY_SECONDS``, default 5 s, where AWS waits the queue's full timeout), and
SQS moves them to the dead-letter queue after ``maxReceiveCount`` receives, as in AWS. Schedule queues
carry the EventBridge event; its body is what the scheduled function receives.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
import time

from infra.local import stack as local_stack
from infra.local import template as tpl
from infra.local.events import LambdaContext, sqs_event

log = logging.getLogger("seia.functionhost")


def load_handler(spec: str):
    module, _, attr = spec.rpartition(".")
    return getattr(importlib.import_module(module), attr)


class QueueConsumer(threading.Thread):
    def __init__(
        self,
        consumer: tpl.Consumer,
        queue_url: str,
        queue_arn: str,
        stop: threading.Event,
        endpoint: str,
        scheduled: bool,
    ):
        super().__init__(name=f"host-{consumer.function}", daemon=True)
        self.consumer = consumer
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.stop = stop
        self.scheduled = scheduled
        self.sqs = local_stack.client("sqs", endpoint)
        self.retry_seconds = int(os.environ.get("SEIA_LOCAL_RETRY_SECONDS", "5"))
        self.invocations = 0

    def run(self) -> None:
        handler = load_handler(self.consumer.handler)
        while not self.stop.is_set():
            try:
                self.poll_once(handler)
            except Exception:  # the host keeps serving, as the Lambda service would
                log.exception("%s: polling failed", self.consumer.function)
                time.sleep(1)

    def poll_once(self, handler, wait_seconds: int = 2) -> int:
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.consumer.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return 0
        self.invocations += 1
        context = LambdaContext(self.consumer.function, timeout_s=self.consumer.timeout)
        if self.scheduled:  # EventBridge invokes the function with the event itself, one at a time
            failed = set()
            for m in messages:
                try:
                    handler(json.loads(m["Body"]), context)
                except Exception:
                    log.exception("%s failed on a scheduled event", self.consumer.function)
                    failed.add(m["MessageId"])
        else:
            event = sqs_event(
                [m["Body"] for m in messages],
                self.queue_arn,
                receipt_handles=[m["ReceiptHandle"] for m in messages],
                message_ids=[m["MessageId"] for m in messages],
                receive_counts=[int(m["Attributes"].get("ApproximateReceiveCount", 1)) for m in messages],
            )
            try:
                result = handler(event, context) or {}
                failed = (
                    {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                    if self.consumer.report_failures
                    else set()
                )
            except Exception:
                log.exception(
                    "%s raised: the whole batch of %d returns to the queue", self.consumer.function, len(messages)
                )
                failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=self.retry_seconds
                )
        log.info("%s: %d message(s), %d failed", self.consumer.function, len(messages), len(failed))
        return len(messages)


class FunctionHost:
    def __init__(self, plan: tpl.LocalPlan, urls: dict[str, str], endpoint: str = local_stack.ENDPOINT):
        self.plan = plan
        self.stop_event = threading.Event()
        scheduled_queues = {s.queue for s in plan.schedules}
        self.consumers = [
            QueueConsumer(
                c, urls[c.queue], plan.queue_arn(c.queue), self.stop_event, endpoint, c.queue in scheduled_queues
            )
            for c in plan.consumers
        ]

    def start(self) -> None:
        for c in self.consumers:
            c.start()

    def stop(self) -> None:
        self.stop_event.set()
        for c in self.consumers:
            c.join(timeout=10)
