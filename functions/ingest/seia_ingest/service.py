"""What the ingest routes do, without HTTP: register models and write predictions, labels and the reference.

One ``IngestService`` per process (``get_service()``); it holds the connection pools, never tenant data.
"""

from __future__ import annotations

import functools

from seia import telemetry
from seia.access import TenantAccess
from seia.config import get_settings
from seia.db import Tenant
from seia.errors import Conflict, Detail, NotFound, ServiceUnavailable, ValidationFailed
from seia.repositories.models import ModelRepository
from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository
from seia.schema import Model
from seia_ingest import validation


class IngestService(TenantAccess):
    def create_model(self, tenant: Tenant, body) -> Model:
        spec = validation.model_definition(body)
        with self.db.tenant(tenant) as conn:
            model = ModelRepository(conn).insert(
                spec["name"], spec["task"], spec["features"], spec["labels"], spec["settings"], spec["segments"]
            )
        if model is None:
            raise Conflict(f"model {spec['name']!r} already exists")
        return model

    # A batch's envelope is checked before any connection is taken, and its records against the model while
    # none is held: a connection is only lent for reading the model and for writing valid rows. A PATCH in between
    # is harmless: a model only gains slots (rows checked before have shorter arrays: docs/lifecycle.md) and a
    # removed feature's slot is never read again; its task never changes. A bad batch is answered 400 even while the
    # database is down, with every problem listed when the model can be read.
    def add_predictions(self, tenant: Tenant, model_name: str, body) -> dict:
        batch = validation.envelope(_records(body), validation.PREDICTION_FIELDS)
        model = self._read_model(tenant, model_name, batch)
        rows = validation.RecordValidator(model).predictions(batch)
        with self.db.tenant(tenant) as conn, conn.transaction():
            _hold(conn, model)
            result = PredictionRepository(conn).add(model.id, rows)
        telemetry.count(telemetry.RECORDS_ACCEPTED, result.accepted)
        return {"accepted": result.accepted, "duplicates": result.duplicates}

    def add_ground_truths(self, tenant: Tenant, model_name: str, body) -> dict:
        batch = validation.envelope(_records(body), validation.GROUND_TRUTH_FIELDS, timestamp_required=False)
        model = self._read_model(tenant, model_name, batch)
        rows = validation.RecordValidator(model).ground_truths(batch)
        with self.db.tenant(tenant) as conn, conn.transaction():
            _hold(conn, model)
            result = GroundTruthRepository(conn).add(model.id, rows)
        telemetry.count(telemetry.RECORDS_ACCEPTED, result.accepted)
        return {"accepted": result.accepted, "unmatched": result.unmatched, "expired": result.expired}

    def add_reference(self, tenant: Tenant, model_name: str, body, replace: bool) -> dict:
        batch = validation.envelope(_records(body), validation.REFERENCE_FIELDS)
        model = self._read_model(tenant, model_name, batch)
        rows = validation.RecordValidator(model).predictions(batch, with_label=True)
        with self.db.tenant(tenant) as conn, conn.transaction():
            _hold(conn, model)
            result, version, total = ReferenceRepository(conn).add(model.id, rows, replace)
        telemetry.count(telemetry.RECORDS_ACCEPTED, result.accepted)
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "replaced": replace,
            "reference_rows": total,
            "reference_version": version,
        }

    def _read_model(self, tenant: Tenant, model_name: str, batch: validation.Batch) -> Model:
        try:
            with self.db.tenant(tenant) as conn:
                return self._model(conn, model_name)
        except ServiceUnavailable:
            batch.raise_if_invalid()
            raise


def _hold(conn, model: Model) -> None:
    """First in a write's transaction: the model is kept until the write commits, or was deleted since the batch
    looked it up (404, nothing written; a DELETE under way is waited for). Never a write into a partition being
    dropped, nor a partition re-created for a model that is gone (docs/lifecycle.md)."""
    if not ModelRepository(conn).hold(model.id):
        raise NotFound(f"model {model.name!r} was deleted; nothing of this batch was stored")


def _records(body) -> list:
    if not isinstance(body, dict) or "records" not in body:
        raise ValidationFailed("the body must be an object with a records list", [Detail(None, "records", "missing")])
    extra = set(body) - {"records"}
    if extra:
        raise ValidationFailed(
            "unknown fields in the body", [Detail(None, str(k)[:64], "unknown field") for k in extra]
        )
    return body["records"]


@functools.lru_cache(maxsize=1)
def get_service() -> IngestService:
    """The process's service, created on first use (a warm Lambda reuses it)."""
    return IngestService(get_settings())
