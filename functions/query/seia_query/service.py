"""What the query routes do, without HTTP: read models, counts and the drift engine's results; settings
and acknowledgements.

One ``QueryService`` per process (``get_service()``); it holds the connection pools, never tenant data.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import psycopg

from seia import legacy, lifecycle, model_settings, tenant_settings
from seia.access import TenantAccess, iso
from seia.config import get_settings
from seia.db import Tenant
from seia.errors import Conflict, Detail, ValidationFailed
from seia.repositories.deliveries import DeliveryRepository
from seia.repositories.incidents import IncidentReadRepository
from seia.repositories.models import ModelRepository
from seia.repositories.stats import StatsRepository
from seia.schema import Model
from seia.timeutil import parse_query_time
from seia_query import cell, incidents, insights, segments

GRANULARITIES = {"hour": "hour", "day": "day"}
log = logging.getLogger(__name__)


class QueryService(TenantAccess):
    def list_models(self, tenant: Tenant) -> list[Model]:
        with self.db.tenant(tenant) as conn:
            return ModelRepository(conn).all()

    def get_model(self, tenant: Tenant, name: str) -> Model:
        with self.db.tenant(tenant) as conn:
            return self._model(conn, name)

    def get_model_with_segments(self, tenant: Tenant, name: str) -> tuple[Model, dict[str, list[str]]]:
        """The model and, per declared segment field, its followed values then ``other``."""
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, name)
            return model, segments.values(conn, model)

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
            _, rows = segments.resolve(conn, model, params)
            windows = StatsRepository(conn).counts(model.id, GRANULARITIES[granularity], start, end, rows=rows)
        return {
            "model": model.name,
            **({"segment": params["segment"]} if rows is not None else {}),
            "granularity": granularity,
            "from": iso(start),
            "to": iso(end),
            "windows": [
                {"window_start": iso(w.window_start), "predictions": w.predictions, "labelled": w.labelled}
                for w in windows
            ],
        }

    def _readable(self, conn, name: str, params: dict | None = None) -> Model:
        """The model with the settings the engine uses: a key an older version stored invalid takes its default.
        With ``segment`` in `params`, its segment model (seia_query.segments)."""
        model = self._model(conn, name)
        model = dataclasses.replace(model, settings=legacy.usable_settings(model.settings)[0])
        return segments.resolve(conn, model, params)[0] if params else model

    def drift(self, tenant: Tenant, model_name: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.drift(conn, self._readable(conn, model_name, params), params)

    def distribution(self, tenant: Tenant, model_name: str, feature: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.distribution(conn, self._readable(conn, model_name, params), feature, params)

    def drift_cell(self, tenant: Tenant, model_name: str, column: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return cell.drift_cell(conn, self._readable(conn, model_name, params), column, params)

    def performance(self, tenant: Tenant, model_name: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            return insights.performance(conn, self._readable(conn, model_name, params), params)

    def alerts(self, tenant: Tenant, model_name: str, params: dict) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            segments.resolve(conn, model, params)  # a segment filter names a declared field and a followed value
            return incidents.incidents(conn, model, params)

    def alert(self, tenant: Tenant, model_name: str, alert_id: str) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            out = incidents.incident(conn, model, alert_id)
            out["deliveries"] = deliveries(conn, model.id, int(out["id"]))
            return out

    def acknowledge(self, tenant: Tenant, model_name: str, alert_id: str, body) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            with conn.transaction():
                return incidents.acknowledge(conn, model, alert_id, body)

    def resolve(self, tenant: Tenant, model_name: str, alert_id: str, body) -> dict:
        with self.db.tenant(tenant) as conn:
            model = self._model(conn, model_name)
            with conn.transaction():
                return incidents.resolve(conn, model, alert_id, body)

    def put_settings(self, tenant: Tenant, model_name: str, body) -> dict:
        with self.db.tenant(tenant) as conn:
            with conn.transaction():
                model = self._model(conn, model_name)
                settings = _revalidated(model_settings.updated(model.settings, body, resolve=True), body)
                model = ModelRepository(conn).update_settings(model.id, settings)
        return {"model": model.name, "settings": model.settings}

    def tenant_settings(self, tenant: Tenant, redact: bool = False) -> dict:
        """The tenant's defaults of model settings (retention_days, notifications) and what is in force."""
        with self.db.tenant(tenant) as conn:
            return tenant_settings.as_body(tenant_settings.stored(conn), redact=redact)

    def put_tenant_settings(self, tenant: Tenant, body) -> dict:
        """Keys sent replace the tenant's defaults, null removes one; models with their own value keep it."""
        problems = tenant_settings.problems(body, resolve=True)  # before a connection is taken
        if problems:
            raise ValidationFailed("invalid tenant settings", problems)
        with self.db.tenant(tenant) as conn:
            with conn.transaction():
                stored = tenant_settings.update(conn, body, resolve=False)
        log.info("tenant defaults changed: %s", sorted(body))
        return tenant_settings.as_body(stored)

    def patch_model(self, tenant: Tenant, model_name: str, body) -> dict:
        """Add features or labels, remove features, change settings (seia.lifecycle); the model as it is now."""
        with self.db.tenant(tenant) as conn:
            with conn.transaction():
                model = self._model(conn, model_name)
                repo = ModelRepository(conn)
                model = repo.get(model.name, for_update=True) or model  # one change at a time
                change = lifecycle.patch(model, body)
                settings = model.settings
                if change.settings is not None:
                    settings = _revalidated(
                        model_settings.updated(model.settings, change.settings, resolve=True), change.settings
                    )
                model = repo.update_definition(model.id, change.features, change.labels, settings, change.segments)
                if change.removed:
                    # a removed feature is never judged again: its incidents would stay open for good
                    incidents_repo = IncidentReadRepository(conn)
                    for incident_id in incidents_repo.unresolved_of(model.id, list(change.removed)):
                        incidents_repo.resolve(model.id, incident_id)
        log.info(
            "model %s changed: features added %s, removed %s; labels added %s; segment fields added %s",
            model.name,
            list(change.added),
            list(change.removed),
            list(change.added_labels),
            list(change.added_segments),
        )
        return model.as_dict()

    def delete_model(self, tenant: Tenant, model_name: str) -> dict:
        """Remove the model, its rows and everything derived from them; the name can be used again at once."""
        with self.db.tenant(tenant) as conn:
            try:
                with conn.transaction():
                    model = self._model(conn, model_name)
                    ModelRepository(conn).delete(model.id)
            except psycopg.errors.LockNotAvailable:
                raise Conflict(
                    f"model {model_name!r} is in use (a file of it is loading, or a long read of its rows); "
                    "nothing was deleted: retry the DELETE"
                ) from None
        log.info("model %s (id %d) deleted", model.name, model.id)
        self._delete_results(tenant, model.name)
        return {"model": model.name, "deleted": True}

    def _delete_results(self, tenant: Tenant, model_name: str) -> None:
        """The model's result objects (``<tenant>/<model>/_results/``) describe rows that are gone: they go too,
        after the rows (a new model of the name starts with none). The files the user dropped stay (theirs). An S3
        failure is logged, not answered: the model is deleted, and the results of a reused name are replaced
        file by file anyway."""
        bucket = self.settings.bucket
        if not bucket:
            return
        from seia import file_objects

        prefix = f"{tenant.name}/{model_name}/_results/"
        try:
            n = file_objects.delete_prefix(bucket, prefix)
        except Exception as exc:  # noqa: BLE001 - the model is deleted whatever S3 says
            log.warning("model %s deleted; its result objects s3://%s/%s stay: %s", model_name, bucket, prefix, exc)
            return
        if n:
            log.info("model %s: %d result objects deleted from s3://%s/%s", model_name, n, bucket, prefix)


def deliveries(conn, model_id: int, incident_id: int) -> list[dict]:
    """Each state change of the incident on each notification channel: what was sent, what waits and why."""
    return [
        {
            "channel": d.channel,
            "channel_type": d.channel_type,
            "change": d.change,
            "change_at": iso(d.change_at),
            "status": d.status,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "next_attempt_at": iso(d.next_attempt_at),
            "sent_at": iso(d.sent_at),
        }
        for d in DeliveryRepository(conn).for_incident(model_id, incident_id)
    ]


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


@functools.lru_cache(maxsize=1)
def get_service() -> QueryService:
    """The process's service, created on first use (a warm Lambda reuses it)."""
    return QueryService(get_settings())
