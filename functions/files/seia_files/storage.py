"""S3: the dropped object read as a stream (or spooled to /tmp for Parquet), result objects written.

S3 errors are sorted here: throttling, 5xx and connection problems are ``TransientFailure`` (the
message is retried); an object deleted or replaced since its notification is ``ObjectGone``.
"""

from __future__ import annotations

import errno
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from seia_files.errors import FileRejected, ObjectGone, TransientFailure
from seia_files.events import ObjectCreated

log = logging.getLogger(__name__)

GONE = frozenset({"NoSuchKey", "NoSuchVersion", "NotFound", "404", "PreconditionFailed", "412"})
SPOOL_COPY_BYTES = 8 << 20


def _code(exc) -> str:
    response = getattr(exc, "response", None) or {}
    code = (response.get("Error") or {}).get("Code") or (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return str(code or "")


def classify(exc: BaseException) -> BaseException:
    """``ObjectGone`` for a vanished object; ``TransientFailure`` for anything else S3 or the network says.

    Errors that are not throttling or 5xx (AccessDenied, say) are treated as transient too: they
    come from configuration, and retrying then parking the message in the DLQ keeps the file.
    """
    if _code(exc) in GONE:
        return ObjectGone(_code(exc))
    return TransientFailure(f"S3: {type(exc).__name__} {_code(exc)}".strip())


class S3Stream:
    """A read-only file object over a GetObject body; remembers a failure of the connection.

    pyarrow reads it from its own code, so the failure is kept here too: the loader checks it
    before blaming the file for an error.
    """

    def __init__(self, body):
        self._body = body
        self._position = 0
        self.failure: BaseException | None = None
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._body.read(None if size is None or size < 0 else size)
        except Exception as exc:  # noqa: BLE001 - botocore/urllib3 read errors: the connection, never the file
            self.failure = classify(exc)
            raise self.failure from None
        self._position += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._body.close()


class ObjectStore:
    def __init__(self, client):
        self.client = client

    def _get(self, obj: ObjectCreated):
        kwargs = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            kwargs["VersionId"] = obj.version_id
        elif obj.etag:
            # The content this notification is about, not a newer upload under the same key.
            kwargs["IfMatch"] = f'"{obj.etag}"'
        try:
            return self.client.get_object(**kwargs)
        except Exception as exc:  # noqa: BLE001 - classify() sorts botocore's errors
            raise classify(exc) from None

    def etag(self, obj: ObjectCreated) -> str:
        """The ETag, for the rare notification without one."""
        kwargs = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            kwargs["VersionId"] = obj.version_id
        try:
            return self.client.head_object(**kwargs)["ETag"].strip('"')
        except Exception as exc:  # noqa: BLE001 - classify() sorts botocore's errors
            raise classify(exc) from None

    @contextmanager
    def stream(self, obj: ObjectCreated) -> Iterator[S3Stream]:
        source = S3Stream(self._get(obj)["Body"])
        try:
            yield source
        finally:
            source.close()

    @contextmanager
    def spooled(self, obj: ObjectCreated) -> Iterator[str]:
        """The object copied to a temporary file (Lambda's /tmp), removed afterwards; yields its path."""
        with self.stream(obj) as source, tempfile.NamedTemporaryFile(prefix="seia-", suffix=".part") as local:
            try:
                shutil.copyfileobj(source, local, SPOOL_COPY_BYTES)
                local.flush()
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise FileRejected.file("the file is larger than the loader's temporary storage") from None
                raise
            yield local.name

    def put_result(self, bucket: str, key: str, document: dict) -> None:
        body = json.dumps(document, indent=2, default=str).encode()
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        except Exception as exc:  # noqa: BLE001 - classify() sorts botocore's errors
            raise classify(exc) from None


def s3_client():
    """An S3 client for the files bucket (the shared layer's: retries, timeouts, path-style addressing for
    local endpoints)."""
    from seia.file_objects import client

    return client()
