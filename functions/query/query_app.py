"""Query API: read models and results (Chalice, API Gateway v1)."""

import functools
from pathlib import Path

from chalice import Chalice, Response

from seia import channels
from seia.errors import SeiaError
from seia.http import ANY_CONTENT_TYPE, api_view, authenticated_views, json_body, json_response, observe, query_params
from seia.scopes import ANY as ANY_SCOPE
from seia_query.service import get_service

app = observe(Chalice(app_name="seia-query"))
authenticated = authenticated_views(app, get_service)

_READ = {"methods": ["GET"], "content_types": ANY_CONTENT_TYPE}


def _as_seen_by(caller, model) -> dict:
    """A model as this key may see it: receivers' URLs (their credentials) only for admin keys."""
    body = model.as_dict()
    if "admin" not in caller.scopes and isinstance(body.get("settings"), dict):
        body["settings"] = channels.redacted(body["settings"])
    return body


@app.route("/v1/models", methods=["GET"])
@authenticated(caller=True)
def list_models(service, caller, request):
    return 200, {"models": [_as_seen_by(caller, m) for m in service.list_models(caller.tenant)]}


@app.route("/v1/models/{model}", methods=["GET"])
@authenticated(scope={"read", "ingest"}, caller=True)  # ingest keys too: clients turn columns into records with it
def get_model(service, caller, request, model):
    found, segment_values = service.get_model_with_segments(caller.tenant, model)
    body = _as_seen_by(caller, found)
    if segment_values:  # a model that declares segments: the values the drift engine follows, per field
        body["segment_values"] = segment_values
    return 200, body


@app.route("/v1/models/{model}", methods=["PATCH"], content_types=ANY_CONTENT_TYPE)
@authenticated
def patch_model(service, tenant, request, model):
    # Add features or labels, remove features, change settings; never rename nor retype (docs/lifecycle.md).
    return 200, service.patch_model(tenant, model, json_body(request))


@app.route("/v1/models/{model}", methods=["DELETE"], content_types=ANY_CONTENT_TYPE)
@authenticated
def delete_model(service, tenant, request, model):
    # Everything of the model goes at once; its name is free again (202: the drift worker forgets it too).
    return 202, service.delete_model(tenant, model)


@app.route("/v1/models/{model}/stats", methods=["GET"])
@authenticated
def stats(service, tenant, request, model):
    return 200, service.stats(tenant, model, query_params(request))


# --- drift results, performance and alerts (incidents) (read from the drift engine's tables) ---------------
@app.route("/v1/models/{model}/drift", methods=["GET"])
@authenticated
def drift(service, tenant, request, model):
    return 200, service.drift(tenant, model, query_params(request))


@app.route("/v1/models/{model}/drift/{feature}", methods=["GET"])
@authenticated
def drift_cell(service, tenant, request, model, feature):
    return 200, service.drift_cell(tenant, model, feature, query_params(request))


@app.route("/v1/models/{model}/features/{feature}/distribution", methods=["GET"])
@authenticated
def feature_distribution(service, tenant, request, model, feature):
    return 200, service.distribution(tenant, model, feature, query_params(request))


@app.route("/v1/models/{model}/performance", methods=["GET"])
@authenticated
def performance(service, tenant, request, model):
    return 200, service.performance(tenant, model, query_params(request))


@app.route("/v1/models/{model}/alerts", methods=["GET"])
@authenticated
def alerts(service, tenant, request, model):
    return 200, service.alerts(tenant, model, query_params(request))


@app.route("/v1/models/{model}/alerts/{alert_id}", methods=["GET"])
@authenticated
def get_alert(service, tenant, request, model, alert_id):
    return 200, service.alert(tenant, model, alert_id)


@app.route("/v1/models/{model}/alerts/{alert_id}/acknowledge", methods=["POST"], content_types=ANY_CONTENT_TYPE)
@authenticated
def acknowledge_alert(service, tenant, request, model, alert_id):
    # The body is optional: an empty one acknowledges without a note.
    return 200, service.acknowledge(tenant, model, alert_id, json_body(request) if request.raw_body else None)


@app.route("/v1/models/{model}/alerts/{alert_id}/resolve", methods=["POST"], content_types=ANY_CONTENT_TYPE)
@authenticated
def resolve_alert(service, tenant, request, model, alert_id):
    # Resolved by hand: if the condition returns, the engine opens a new incident.
    return 200, service.resolve(tenant, model, alert_id, json_body(request) if request.raw_body else None)


@app.route("/v1/models/{model}/settings", methods=["PUT"], content_types=ANY_CONTENT_TYPE)
@authenticated
def put_settings(service, tenant, request, model):
    return 200, service.put_settings(tenant, model, json_body(request))


@app.route("/v1/settings", methods=["GET"])
@authenticated(caller=True)
def get_tenant_settings(service, caller, request):
    # Receivers' URLs (their credentials) only for admin keys, as GET /v1/models/{model}.
    return 200, service.tenant_settings(caller.tenant, redact="admin" not in caller.scopes)


@app.route("/v1/settings", methods=["PUT"], content_types=ANY_CONTENT_TYPE)
@authenticated
def put_tenant_settings(service, tenant, request):
    # Tenant-wide defaults (retention_days, notifications): a model's own value wins (docs/storage.md).
    return 200, service.put_tenant_settings(tenant, json_body(request))


@app.route("/v1/key", methods=["GET"])
@authenticated(scope=ANY_SCOPE, caller=True)
def who_am_i(service, caller, request):
    return 200, caller.as_dict()


# --- the API's description and the dashboard: public, no tenant data --------------------------
@app.route("/v1/openapi.json", **_READ)
@api_view
def openapi():
    from seia_query.openapi import document

    return 200, document()


@functools.lru_cache(maxsize=1)
def _dashboard_files():
    from seia_query.static import StaticFiles

    return StaticFiles(Path(__file__).resolve().parent / "dashboard")


def _static(name: str) -> Response:
    from seia_query.static import SECURITY_HEADERS

    try:
        content_type, text = _dashboard_files().get(name)
    except SeiaError as exc:
        return json_response(exc.as_body(), exc.status)
    cache = "no-cache" if name == "index.html" else "public, max-age=300"
    return Response(
        body=text, status_code=200, headers={"Content-Type": content_type, "Cache-Control": cache, **SECURITY_HEADERS}
    )


@app.route("/dashboard", **_READ)
def dashboard():
    return _static("index.html")


@app.route("/dashboard/{file}", **_READ)
def dashboard_asset(file):
    return _static(file)
