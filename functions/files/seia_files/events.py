"""The edge: the S3 notifications in the SQS messages, as small dataclasses.

The messages themselves are Powertools' ``SQSRecord`` (``seia.batch``); nothing past this module
looks at a raw notification dict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus


class MalformedMessage(ValueError):
    """A message body that is not an S3 event notification; retrying it cannot help."""


@dataclass(frozen=True)
class ObjectCreated:
    """One ``s3:ObjectCreated:*`` record; ``key`` is decoded (S3 sends ``+`` for spaces and %-escapes)."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None
    event_name: str = "ObjectCreated:Put"


def objects_created(body: str) -> list[ObjectCreated]:
    """The object-created records of one S3 notification; [] for ``s3:TestEvent`` and other events."""
    return [obj for obj, _ in object_records(body)]


def object_records(body: str) -> list[tuple[ObjectCreated, dict]]:
    """Each object-created record of one S3 notification, parsed and as S3 sent it."""
    try:
        notification = json.loads(body)
    except ValueError:
        raise MalformedMessage("the message body is not JSON") from None
    if not isinstance(notification, dict):
        raise MalformedMessage("the message body is not an S3 event notification")
    if notification.get("Event") == "s3:TestEvent":
        return []
    records = notification.get("Records")
    if not isinstance(records, list):
        raise MalformedMessage("the message body is not an S3 event notification")
    found = []
    for record in records:
        try:
            created = str(record.get("eventName", "")).startswith("ObjectCreated:")
            if record.get("eventSource") != "aws:s3" or not created:
                continue
            s3 = record["s3"]
            obj = s3["object"]
            etag = obj.get("eTag") or obj.get("etag")
            found.append(
                (
                    ObjectCreated(
                        bucket=s3["bucket"]["name"],
                        key=unquote_plus(obj["key"]),
                        etag=etag.strip('"') if etag else None,
                        version_id=obj.get("versionId") or None,
                        size=obj.get("size"),
                        event_name=record["eventName"],
                    ),
                    record,
                )
            )
        except (KeyError, TypeError, AttributeError):
            raise MalformedMessage("an S3 record lacks its bucket or object") from None
    return found
