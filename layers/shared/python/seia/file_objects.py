"""Objects of the files bucket (``SEIA_BUCKET``) removed with what they belong to.

- ``seia tenant delete T --yes``: everything under ``T/`` (dropped files and their ``_results/``);
- ``DELETE /v1/models/{model}``: the model's result objects, ``<tenant>/<model>/_results/``. The files a user
  dropped are theirs and stay (docs/lifecycle.md says why).

The bucket is versioned (template.yaml), so every version and delete marker under the prefix goes: a plain
DELETE would only hide the objects behind a marker. Listed and deleted a page (1,000 keys) at a time.
"""

from __future__ import annotations

import os
from typing import Any

PAGE = 1000  # keys per DeleteObjects call (S3's limit)


def client():
    """An S3 client; ``AWS_ENDPOINT_URL`` (LocalStack, moto server) is honoured by boto3 itself."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=60,
        s3={"addressing_style": "path" if os.environ.get("AWS_ENDPOINT_URL") else "auto"},
    )
    return boto3.client("s3", config=config)


def delete_prefix(bucket: str, prefix: str, s3: Any = None) -> int:
    """Delete every object version and delete marker whose key starts with ``prefix``; how many went.

    ``prefix`` must end with ``/`` (``acme/`` never touches ``acme2/``). Raises when S3 refuses a key;
    running it again finishes the job."""
    if not prefix.endswith("/") or prefix == "/":
        raise ValueError(f"refusing to delete under {prefix!r}: a prefix is a tenant's or a model's folder")
    s3 = s3 or client()
    deleted = 0
    while True:
        # Always the first page: what was deleted is no longer listed (no marker to carry across deletions).
        page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=PAGE)
        items = (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])
        if not items:
            return deleted
        batch = [{"Key": item["Key"], "VersionId": item["VersionId"]} for item in items[:PAGE]]
        reply = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors = reply.get("Errors") or []
        deleted += len(batch) - len(errors)
        if errors:
            failed = [f"{e.get('Key')}: {e.get('Code')}" for e in errors[:3]]
            raise RuntimeError(
                f"{len(errors)} objects under s3://{bucket}/{prefix} were not deleted ({deleted} were): {failed}"
            )
