"""Ingest API: models, predictions, ground truths and the reference set (Chalice, API Gateway v1)."""

from chalice import Chalice

from seia.http import ANY_CONTENT_TYPE, api_view, json_body, observe, query_params
from seia.service import get_service

app = observe(Chalice(app_name="seia-ingest"))

_WRITE = {"methods": ["POST"], "content_types": ANY_CONTENT_TYPE}


@app.route("/health", methods=["GET"])
@api_view
def health():
    return 200, {"status": "ok", "service": "ingest"}


@app.route("/v1/models", **_WRITE)
@api_view
def create_model():
    service = get_service()
    tenant = service.authenticate(app.current_request.headers)
    model = service.create_model(tenant, json_body(app.current_request))
    return 201, model.as_dict()


@app.route("/v1/models/{model}/predictions", **_WRITE)
@api_view
def add_predictions(model):
    service = get_service()
    tenant = service.authenticate(app.current_request.headers)
    return 202, service.add_predictions(tenant, model, json_body(app.current_request))


@app.route("/v1/models/{model}/ground-truths", **_WRITE)
@api_view
def add_ground_truths(model):
    service = get_service()
    tenant = service.authenticate(app.current_request.headers)
    return 202, service.add_ground_truths(tenant, model, json_body(app.current_request))


@app.route("/v1/models/{model}/reference", **_WRITE)
@api_view
def add_reference(model):
    request = app.current_request
    service = get_service()
    tenant = service.authenticate(request.headers)
    replace = query_params(request).get("replace", "false").lower() in ("true", "1", "yes")
    return 202, service.add_reference(tenant, model, json_body(request), replace)
