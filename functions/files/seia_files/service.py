"""What the file-ingest handler does, without Lambda: S3 notifications in, rows and result objects out.

For each object: the key names the tenant (first segment), the model and the kind. The tenant is
looked up in the admin database, its database is opened as its own role, the model is looked up
there (so another tenant's model is "unknown model"). A file already in the tenant's ingest log is
not loaded again; otherwise it is read, checked and loaded in one transaction (``FileLoader``).
A result object is written either way. Only transient failures (database or S3 unavailable)
escape, so that the message is delivered again.
"""

from __future__ import annotations

import functools
import logging
import os
import time

from seia import telemetry
from seia.batch import SQSRecord
from seia.config import Settings, get_settings
from seia.db import Databases, Tenant
from seia.errors import ServiceUnavailable
from seia.repositories.admin import TenantRepository
from seia.repositories.models import ModelRepository
from seia_files import keys
from seia_files.errors import FileRejected, ObjectGone, TransientFailure
from seia_files.events import MalformedMessage, ObjectCreated, objects_created
from seia_files.loader import CHUNK_ROWS, FileLoader
from seia_files.parts import OnePiece, PartedLoads, PartMessage, part_message
from seia_files.planning import Budget
from seia_files.repository import IngestLogRepository, ObjectVersion
from seia_files.results import LOADED, FileResult
from seia_files.storage import ObjectStore, s3_client

log = logging.getLogger(__name__)


class FileIngestService:
    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        databases: Databases | None = None,
        chunk_rows: int = CHUNK_ROWS,
        parts: PartedLoads | None = None,
    ):
        self.settings = settings
        self.store = store
        self.db = databases or Databases(settings)
        self.chunk_rows = chunk_rows
        # Files larger than one invocation's budget are loaded in parts (seia_files.parts); None: never split.
        self.parts = parts

    # -- one SQS message of a batch (seia.batch) -------------------------------------------------
    def handle(self, record: SQSRecord) -> None:
        """Process one message; raise to have it delivered again (transient failures only)."""
        receive_count = record.attributes.approximate_receive_count
        with telemetry.keys(message_id=record.message_id):
            part = part_message(record.body)
            try:
                objects = [] if part is not None else objects_created(record.body or "")
            except MalformedMessage as exc:
                log.warning("message %s ignored: %s", record.message_id, exc)
                return
            try:
                if part is not None:
                    self.ingest_part(part, redelivered=int(receive_count or 1) > 1)
                for obj in objects:
                    self.ingest(obj)
            except TransientFailure as exc:
                log.warning("message %s will be retried (receive %s): %s", record.message_id, receive_count, exc)
                raise
            except Exception:
                # A bug or an unforeseen failure: retried, then parked in the DLQ with its file intact.
                log.exception("message %s failed unexpectedly (receive %s)", record.message_id, receive_count)
                raise

    # -- one object --------------------------------------------------------------------------
    def ingest(self, obj: ObjectCreated) -> FileResult | None:
        """Load one object and write its result; None when there was nothing to do."""
        if keys.is_result_key(obj.key):
            return None
        if self.settings.bucket and obj.bucket != self.settings.bucket:
            log.warning("object in bucket %s ignored: this function serves %s", obj.bucket, self.settings.bucket)
            return None
        started = time.monotonic()
        location = None
        try:
            location = keys.parse(obj.key)
            telemetry.append_keys(tenant=location.tenant)
            result = self._load(location, obj)
            if result is None:
                return None  # loaded in parts: the last part writes the result
        except FileRejected as exc:
            result = FileResult.rejected(exc.errors)
        except ObjectGone:
            log.info("file %s skipped: deleted or replaced since its notification", obj.key)
            return None
        result_key = location.result_key if location else keys.result_key_for(obj.key)
        if result_key is not None:
            self.store.put_result(obj.bucket, result_key, result.document(obj))
        log.info(
            "file tenant=%s model=%s kind=%s rows=%d duplicates=%d status=%s errors=%d seconds=%.2f key=%s",
            location.tenant if location else "-",
            location.model if location else "-",
            location.kind if location else "-",
            result.rows,
            result.duplicates,
            result.status,
            len(result.errors),
            time.monotonic() - started,
            obj.key,
        )
        return result

    def _tenant(self, name: str) -> Tenant:
        try:
            with self.db.admin() as conn:
                tenant = TenantRepository(conn).get(name)
        except ServiceUnavailable:
            raise TransientFailure("the admin database is unavailable") from None
        if tenant is None:
            raise FileRejected.file(f"unknown tenant {name!r}")
        return tenant

    def _load(self, location: keys.FileLocation, obj: ObjectCreated) -> FileResult | None:
        tenant = self._tenant(location.tenant)
        etag = obj.etag or self.store.etag(obj)
        version = ObjectVersion(obj.bucket, obj.key, etag, obj.version_id or "")
        try:
            with self.db.tenant(tenant) as conn:
                model = ModelRepository(conn).get(location.model)
                if model is None:
                    raise FileRejected.file(f"unknown model {location.model!r}")
                done = IngestLogRepository(conn).get(version)
                conn.commit()  # the load below is a transaction of its own
                if done is None and self.parts is not None and self.parts.splits(location, obj):
                    started = self.parts.start(conn, model, location, obj, version)
                    if not isinstance(started, OnePiece):
                        return started
                if done is None:
                    loaded = self._load_object(conn, model, location, obj, version)
                    if loaded is not None:
                        telemetry.count(telemetry.RECORDS_ACCEPTED, loaded.rows)
                        return FileResult(LOADED, loaded.rows, loaded.duplicates, loaded.unmatched, loaded.expired)
                    done = IngestLogRepository(conn).get(version)
        except ServiceUnavailable:
            raise TransientFailure(f"the database of tenant {tenant.name} is unavailable") from None
        assert done is not None  # a load that returns None found another delivery's committed load
        log.info("file %s was already loaded (%s); its result is written again", obj.key, done.loaded_at.isoformat())
        return FileResult(LOADED, done.rows, done.duplicates, done.unmatched, done.expired, loaded_at=done.loaded_at)

    def ingest_part(self, message: PartMessage, redelivered: bool = False) -> FileResult | None:
        """One step of a file loaded in parts; writes the file's result when this step decided it."""
        obj = message.obj
        if self.parts is None or (self.settings.bucket and obj.bucket != self.settings.bucket):
            log.warning("part message for %s ignored: parts are not served here", obj.key)
            return None
        started = time.monotonic()
        try:
            location = keys.parse(obj.key)
            telemetry.append_keys(tenant=location.tenant)
            tenant = self._tenant(location.tenant)
            with self.db.tenant(tenant) as conn:
                model = ModelRepository(conn).get(location.model)
                conn.commit()
                if model is None:
                    log.info("part message for %s dropped: its model is gone", obj.key)
                    return None
                step = self.parts.handle(conn, model, location, message)
        except FileRejected:
            log.info("part message for %s dropped: its key or tenant is no longer valid", obj.key)
            return None
        except ServiceUnavailable as exc:
            raise TransientFailure(f"the database of tenant {location.tenant} is unavailable ({exc})") from None
        if step.send:
            self.parts.send(step.send)
        result = step.result
        if result is not None and (redelivered or step.decided):
            self.store.put_result(obj.bucket, location.result_key, result.document(obj))
            log.info(
                "file tenant=%s model=%s kind=%s rows=%d duplicates=%d status=%s errors=%d seconds=%.2f key=%s",
                location.tenant,
                location.model,
                location.kind,
                result.rows,
                result.duplicates,
                result.status,
                len(result.errors),
                time.monotonic() - started,
                obj.key,
            )
        return result

    def _load_object(self, conn, model, location, obj, version):
        loader = FileLoader(conn, model, location, self.chunk_rows)
        if location.format == "parquet":
            with self.store.spooled(obj) as path:
                return loader.load(version, path, lambda: None)
        with self.store.stream(obj) as stream:
            return loader.load(version, stream, lambda: stream.failure)


@functools.lru_cache(maxsize=1)
def get_file_ingest_service() -> FileIngestService:
    """The process's service (a warm Lambda reuses its pools and S3 client); tests clear the cache."""
    chunk_rows = int(os.environ.get("SEIA_FILE_CHUNK_ROWS") or CHUNK_ROWS)
    store = ObjectStore(s3_client())
    queue_url = os.environ.get("SEIA_FILE_WORK_QUEUE_URL")
    parts = None
    if queue_url:
        import boto3

        parts = PartedLoads(store, chunk_rows, Budget.from_environment(), boto3.client("sqs"), queue_url)
    return FileIngestService(get_settings(), store, chunk_rows=chunk_rows, parts=parts)
