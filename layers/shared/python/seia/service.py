"""What the HTTP routes do, without HTTP: authenticate, then read or write a tenant's data.

One ``Service`` per process (``get_service()``); it holds the connection pools, never tenant data.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from datetime import datetime

from seia import auth, insights, legacy, model_settings, naming, validation
from seia.config import Settings, get_settings
from seia.db import Databases, Tenant
from seia.errors import Conflict, Detail, NotFound, Unauthorized, ValidationFailed
from seia.repositories.admin import ApiKeyRepository
from seia.repositories.models import ModelRepository
from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository
from seia.repositories.stats import StatsRepository
from seia.schema import Model
from seia.timeutil import parse_query_time

log = logging.getLogger(__name__)
GRANULARITIES = {"hour": "hour", "day": "day"}


class Service:
    def __init__(self, settings: Settings, databases: Databases | None = None):
        self.settings = settings
        self.db = databases or Databases(settings)

    # -- auth ---------------------------------------------------------------------------------
    def authenticate(self, headers) -> Tenant:
        """The tenant owning the bearer key, or 401. Checked on every request: revocation is immediate."""
        key = auth.bearer_key(headers)
        prefix = auth.key_prefix(key)
        if prefix is None:
            raise Unauthorized("invalid API key")
        with self.db.admin() as conn:
            row = ApiKeyRepository(conn).by_prefix(prefix)
        # Same answer for unknown, wrong and revoked keys; the hash is always compared.
        stored = row.key_hash if row else b"\0" * 32
        if not auth.matches(key, stored) or row is None or row.revoked:
            raise Unauthorized("invalid API key")
        return row.tenant

    # -- models -------------------------------------------------------------------------------
    def _model(self, conn, name: str) -> Model:
        # A name no model can have (e.g. with a NUL byte, which PostgreSQL text refuses) is not looked up.
        model = ModelRepository(conn).get(name) if isinstance(name, str) and naming.is_model_name(name) else None
        if model is None:
            # Same answer whether the model exists in another tenant or nowhere.
            raise NotFound(f"model {str(name)[:64]!r} not found")
        return model

    def create_model(self, tenant: Tenant, body) -> Model:
        spec = validation.model_definition(body)
        with self.db.tenant(tenant) as conn:
            model = ModelRepository(conn).insert(
                spec["name"], spec["task"], spec["features"], spec["labels"], spec["settings"]
            )
        if model is None:
            raise Conflict(f"model {spec['name']!r} already exists")
        return model

    def list_models(self, tenant: Tenant) -> list[Model]:
        with self.db.tenant(tenant) as conn:
            return ModelRepository(conn).all()

    def get_model(self, tenant: Tenant, name: str) -> Model:
        with self.db.tenant(tenant) as conn:
            return self._model(conn, name)

    # -- writes -------------------------------------------------------------------------------
    def add_predictions(self, tenant: Tenant, model_name: str, body) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            rows = validation.RecordValidator(model).predictions(_records(body))
            with conn.transaction():
                result = PredictionRepository(conn).add(model.id, rows)
        return {"accepted": result.accepted, "duplicates": result.duplicates}

    def add_ground_truths(self, tenant: Tenant, model_name: str, body) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            rows = validation.RecordValidator(model).ground_truths(_records(body))
            with conn.transaction():
                result = GroundTruthRepository(conn).add(model.id, rows)
        return {"accepted": result.accepted, "unmatched": result.unmatched}

    def add_reference(self, tenant: Tenant, model_name: str, body, replace: bool) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            rows = validation.RecordValidator(model).predictions(_records(body), with_label=True)
            with conn.transaction():
                result, version, total = ReferenceRepository(conn).add(model.id, rows, replace)
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "replaced": replace,
            "reference_rows": total,
            "reference_version": version,
        }

    # -- reads --------------------------------------------------------------------------------
    def stats(self, tenant: Tenant, model_name: str, params: dict) -> dict:
        granularity = params.get("granularity") or "hour"
        if granularity not in GRANULARITIES:
            raise ValidationFailed("invalid granularity", [Detail(None, "granularity", "must be 'hour' or 'day'")])
        start = parse_query_time(params.get("from"), "from")
        end = parse_query_time(params.get("to"), "to")
        if start and end and end <= start:
            raise ValidationFailed("empty range", [Detail(None, "to", "must be after from")])
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            windows = StatsRepository(conn).counts(model.id, GRANULARITIES[granularity], start, end)
        return {
            "model": model.name,
            "granularity": granularity,
            "from": _iso(start),
            "to": _iso(end),
            "windows": [
                {"window_start": _iso(w.window_start), "predictions": w.predictions, "labelled": w.labelled}
                for w in windows
            ],
        }

    # -- drift results, performance, alerts and settings (read from the drift engine's tables) --
    def _readable(self, conn, name: str) -> Model:
        """The model with the settings the engine uses: a key an older version stored invalid takes its default."""
        model = self._model(conn, name)
        return dataclasses.replace(model, settings=legacy.usable_settings(model.settings)[0])

    def drift(self, tenant: Tenant, model_name: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.drift(conn, self._readable(conn, model_name), params)

    def distribution(self, tenant: Tenant, model_name: str, feature: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.distribution(conn, self._readable(conn, model_name), feature, params)

    def performance(self, tenant: Tenant, model_name: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.performance(conn, self._readable(conn, model_name), params)

    def alerts(self, tenant: Tenant, model_name: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.alerts(conn, self._model(conn, model_name), params)

    def alert(self, tenant: Tenant, model_name: str, alert_id: str) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.alert(conn, self._model(conn, model_name), alert_id)

    def acknowledge(self, tenant: Tenant, model_name: str, alert_id: str, body) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            with conn.transaction():
                return insights.acknowledge(conn, model, alert_id, body)

    def put_settings(self, tenant: Tenant, model_name: str, body) -> dict:
        with self.db.tenant(tenant) as conn:
            with conn.transaction():
                model = self._model(conn, model_name)
                settings = _revalidated(model_settings.updated(model.settings, body), body)
                model = ModelRepository(conn).update_settings(model.id, settings)
        return {"model": model.name, "settings": model.settings}


def _records(body) -> list:
    if not isinstance(body, dict) or "records" not in body:
        raise ValidationFailed("the body must be an object with a records list", [Detail(None, "records", "missing")])
    extra = set(body) - {"records"}
    if extra:
        raise ValidationFailed(
            "unknown fields in the body", [Detail(None, str(k)[:64], "unknown field") for k in extra]
        )
    return body["records"]


def _revalidated(merged: dict, body: dict) -> dict:
    """The merged settings, checked whole: a key stored by an older version and invalid today is named, not kept."""
    try:
        return model_settings.updated({}, merged)
    except ValidationFailed as exc:
        details = [
            d
            if d.field is not None and d.field.split(".")[0] in body
            else Detail(d.index, d.field, f"the stored value is invalid ({d.message}); send a valid value or null")
            for d in exc.details
        ]
        raise ValidationFailed("invalid settings", details) from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@functools.lru_cache(maxsize=1)
def get_service() -> Service:
    """The process's service, created on first use (a warm Lambda reuses it)."""
    return Service(get_settings())
