"""Query API: read models and results (Chalice, API Gateway v1)."""

import functools
from pathlib import Path

from chalice import Chalice, Response

from seia.errors import SeiaError
from seia.http import ANY_CONTENT_TYPE, api_view, json_body, json_response, observe, query_params
from seia.service import get_service

app = observe(Chalice(app_name="seia-query"))

_READ = {"methods": ["GET"], "content_types": ANY_CONTENT_TYPE}


@app.route("/v1/models", methods=["GET"])
@api_view
def list_models():
    service = get_service()
    tenant = service.authenticate(app.current_request.headers)
    return 200, {"models": [m.as_dict() for m in service.list_models(tenant)]}


@app.route("/v1/models/{model}", methods=["GET"])
@api_view
def get_model(model):
    service = get_service()
    tenant = service.authenticate(app.current_request.headers)
    return 200, service.get_model(tenant, model).as_dict()


@app.route("/v1/models/{model}/stats", methods=["GET"])
@api_view
def stats(model):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    return 200, service.stats(tenant, model, query_params(request))


# --- drift results, performance and alerts (read from the drift engine's tables) ---------------
@app.route("/v1/models/{model}/drift", methods=["GET"])
@api_view
def drift(model):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    return 200, service.drift(tenant, model, query_params(request))


@app.route("/v1/models/{model}/features/{feature}/distribution", methods=["GET"])
@api_view
def feature_distribution(model, feature):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    return 200, service.distribution(tenant, model, feature, query_params(request))


@app.route("/v1/models/{model}/performance", methods=["GET"])
@api_view
def performance(model):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    return 200, service.performance(tenant, model, query_params(request))


@app.route("/v1/models/{model}/alerts", methods=["GET"])
@api_view
def alerts(model):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    return 200, service.alerts(tenant, model, query_params(request))


@app.route("/v1/models/{model}/alerts/{alert_id}", methods=["GET"])
@api_view
def get_alert(model, alert_id):
    service = get_service()
    tenant = service.authenticate(app.current_request.headers)
    return 200, service.alert(tenant, model, alert_id)


@app.route("/v1/models/{model}/alerts/{alert_id}/acknowledge", methods=["POST"], content_types=ANY_CONTENT_TYPE)
@api_view
def acknowledge_alert(model, alert_id):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    # The body is optional: an empty one acknowledges without a note.
    body = json_body(request) if request.raw_body else None
    return 200, service.acknowledge(tenant, model, alert_id, body)


@app.route("/v1/models/{model}/settings", methods=["PUT"], content_types=ANY_CONTENT_TYPE)
@api_view
def put_settings(model):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    return 200, service.put_settings(tenant, model, json_body(request))


# --- the API's description and the dashboard: public, no tenant data --------------------------
@app.route("/v1/openapi.json", **_READ)
@api_view
def openapi():
    from seia.openapi import document

    return 200, document()


@functools.lru_cache(maxsize=1)
def _dashboard_files():
    from seia.static import StaticFiles

    return StaticFiles(Path(__file__).resolve().parent / "dashboard")


def _static(name: str) -> Response:
    from seia.static import SECURITY_HEADERS

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
