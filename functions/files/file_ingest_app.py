"""Bulk files: S3 object-created notifications arrive through SQS; each file is loaded into its
tenant's database and a result object is written next to it (see docs/bulk-files.md).

Two handlers, two queues. ``route``: the bucket's notifications (intake queue); each object is re-sent
alone to the fair work queue in its tenant's message group (``seia_files.routing``), so one tenant's
thousands of files do not hold back the others'. ``handler``: the work queue; loads each file.

``handler`` returns ``batchItemFailures`` for the messages that hit a transient failure only, so SQS
delivers them again (and, after the queue's maxReceiveCount, parks them in the DLQ); a rejected file gets
its result object and is not retried. pyarrow is imported by the service when a file is parsed, not here.
"""

from seia import telemetry
from seia.batch import process_sqs_batch
from seia_files.routing import get_file_router
from seia_files.service import get_file_ingest_service

# One JSON line per file (and per chunk of long loads) at INFO, keyed by request, message and tenant.
telemetry.setup()


def route(event, context):
    with telemetry.invocation(context):
        return process_sqs_batch(event, get_file_router().handle, context)


def handler(event, context):
    with telemetry.invocation(context):
        return process_sqs_batch(event, get_file_ingest_service().handle, context)
