"""Query API: read models and results (Chalice, API Gateway v1)."""

from chalice import Chalice

from seia.http import api_view, query_params
from seia.service import get_service

app = Chalice(app_name="seia-query")


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
