"""``seia upload``: put a file at ``<tenant>/<model>/<kind>/<name>`` in the bucket, with progress.

boto3's managed transfer does the multipart upload of large files; ``AWS_ENDPOINT_URL`` (LocalStack)
is honoured by boto3 itself. ``wait_for_result`` polls for the file's result object.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass

from seia_client import keys

PROGRESS_FROM_BYTES = 8 << 20  # smaller files go up in one request, without a progress line


@dataclass(frozen=True)
class Uploaded:
    bucket: str
    key: str
    result_key: str
    etag: str
    version_id: str | None

    def as_dict(self) -> dict:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "result_key": self.result_key,
            "etag": self.etag,
            "version_id": self.version_id,
        }


class Progress:
    """Plain progress on stderr, for boto3's transfer callback (called from its worker threads)."""

    def __init__(self, total: int, stream=None, every_s: float = 0.5):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self._lock = threading.Lock()
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, sent: int) -> None:
        with self._lock:
            self.done += sent
            now = time.monotonic()
            if now - self._last >= self.every_s or self.done >= self.total:
                self._last = now
                self._print(now)

    def _print(self, now: float) -> None:
        mib = 1024 * 1024
        rate = self.done / max(now - self._started, 1e-6) / mib
        self.stream.write(
            f"\rseia upload: {self.done / mib:,.1f} of {self.total / mib:,.1f} MiB "
            f"({100 * self.done / max(self.total, 1):.0f}%, {rate:,.1f} MiB/s)"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def s3_client():
    """An S3 client (boto3 is needed for uploads only: ``pip install seia-client[s3]``);
    ``AWS_ENDPOINT_URL`` (LocalStack, moto server) is honoured by boto3 itself."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=60,
        # Path-style addressing for local endpoints (LocalStack, moto server), virtual-hosted in AWS.
        s3={"addressing_style": "path" if os.environ.get("AWS_ENDPOINT_URL") else "auto"},
    )
    return boto3.client("s3", config=config)


def target_key(path: str, tenant: str, model: str, kind: str, name: str | None = None) -> keys.FileLocation:
    """The key the file goes to; ``keys.BadKey`` when the function would refuse it anyway."""
    return keys.parse(f"{tenant}/{model}/{kind}/{name or os.path.basename(path)}")


def upload(client, path: str, bucket: str, location: keys.FileLocation, progress: bool | None = None) -> Uploaded:
    """Upload the file; a progress line on stderr for large files when ``progress`` (None: on a terminal)."""
    from boto3.s3.transfer import TransferConfig

    size = os.path.getsize(path)
    if progress is None:
        progress = _isatty(sys.stderr)  # a log file or a pipe gets no bar
    callback = Progress(size) if progress and size >= PROGRESS_FROM_BYTES else None
    client.upload_file(
        path,
        bucket,
        location.key,
        Callback=callback,
        Config=TransferConfig(multipart_threshold=PROGRESS_FROM_BYTES, multipart_chunksize=16 << 20),
    )
    head = client.head_object(Bucket=bucket, Key=location.key)
    return Uploaded(bucket, location.key, location.result_key, head["ETag"].strip('"'), head.get("VersionId"))


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wait_for_result(client, uploaded: Uploaded, timeout_s: float, poll_s: float = 1.0) -> dict | None:
    """The result object of this very upload (same ETag), or None after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            body = client.get_object(Bucket=uploaded.bucket, Key=uploaded.result_key)["Body"].read()
            result = json.loads(body)
            if (result.get("object") or {}).get("etag") == uploaded.etag:
                return result
        except client.exceptions.NoSuchKey:
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)
