"""SQS batches with partial failures (Powertools' BatchProcessor): the queue consumers' common edge.

A record handler takes one ``SQSRecord`` and raises to have that message delivered again; the reply
names only those messages (``batchItemFailures``), so the others are deleted from the queue.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["SQSRecord", "process_sqs_batch"]


def process_sqs_batch(event: dict, record_handler: Callable[[SQSRecord], object], context=None) -> dict:
    """Run ``record_handler`` on each record of a Lambda SQS event; the failed ones are reported."""
    if not (event or {}).get("Records"):
        # Lambda never sends an empty batch; Powertools would call one an unknown event type.
        return {"batchItemFailures": []}
    # One processor per batch: it keeps the batch's state. A batch whose every record failed is reported
    # like any other (not raised), so the reply always says which messages to deliver again.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
