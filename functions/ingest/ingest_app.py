"""Ingest API: models, predictions, ground truths and the reference set (Chalice, API Gateway v1)."""

from chalice import Chalice

from seia.http import ANY_CONTENT_TYPE, api_view, authenticated_views, json_body, observe, query_params
from seia_ingest.service import get_service

app = observe(Chalice(app_name="seia-ingest"))
authenticated = authenticated_views(app, get_service)

_WRITE = {"methods": ["POST"], "content_types": ANY_CONTENT_TYPE}


@app.route("/health", methods=["GET"])
@api_view
def health():
    return 200, {"status": "ok", "service": "ingest"}


@app.route("/v1/models", **_WRITE)
@authenticated
def create_model(service, tenant, request):
    return 201, service.create_model(tenant, json_body(request)).as_dict()


@app.route("/v1/models/{model}/predictions", **_WRITE)
@authenticated
def add_predictions(service, tenant, request, model):
    return 202, service.add_predictions(tenant, model, json_body(request))


@app.route("/v1/models/{model}/ground-truths", **_WRITE)
@authenticated
def add_ground_truths(service, tenant, request, model):
    return 202, service.add_ground_truths(tenant, model, json_body(request))


@app.route("/v1/models/{model}/reference", **_WRITE)
@authenticated
def add_reference(service, tenant, request, model):
    replace = query_params(request).get("replace", "false").lower() in ("true", "1", "yes")
    return 202, service.add_reference(tenant, model, json_body(request), replace)
