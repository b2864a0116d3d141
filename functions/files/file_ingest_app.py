"""Bulk files: S3 object-created notifications arrive through SQS; each file is loaded into its
tenant's database and a result object is written next to it (see docs/bulk-files.md).

Returns ``batchItemFailures`` for the messages that hit a transient failure only, so SQS delivers
them again (and, after the queue's maxReceiveCount, parks them in the DLQ). pyarrow is imported by
the service when a file is parsed, not here.
"""

import logging
import os

from seia_files.events import sqs_messages
from seia_files.service import get_file_ingest_service

# One line per file (and per chunk of long loads) at INFO; Lambda's root logger defaults to WARNING.
logging.getLogger("seia_files").setLevel(os.environ.get("SEIA_LOG_LEVEL", "INFO"))


def handler(event, context):
    retry = get_file_ingest_service().handle(sqs_messages(event))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}
