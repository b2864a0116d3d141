"""Handlers the function-host tests hand to the host: they record what they receive."""

from __future__ import annotations

import json
import threading

received: list[dict] = []
_lock = threading.Lock()


def flaky(event, context):
    """Fails every record whose body says {"fail": true}; the rest succeed."""
    failures = []
    with _lock:
        for record in event["Records"]:
            body = json.loads(record["body"])
            received.append({"id": body["id"], "count": int(record["attributes"]["ApproximateReceiveCount"])})
            if body.get("fail"):
                failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
