"""The OpenAPI document describes every route the apps serve, and marks the planned ones."""

import os
import subprocess
import sys

from openapi_spec_validator import validate

from infra.local.apihost import default_functions
from seia_query import openapi


def _served() -> set:
    return {
        (path, method)
        for app in default_functions().values()
        for path, methods in app.routes.items()
        for method in methods
    }


def test_the_document_is_valid_openapi_3():
    doc = openapi.document()
    validate(doc)
    assert doc["openapi"].startswith("3.")


def test_the_operations_not_marked_planned_are_exactly_the_served_routes():
    assert openapi.operations(include_planned=False) == _served()


def test_no_served_route_is_still_marked_planned():
    planned = openapi.operations() - openapi.operations(include_planned=False)
    assert not planned & _served(), "a served route is still marked planned: remove its x-seia-status"


def test_the_drift_alert_and_settings_routes_are_served():
    served = _served()
    for route in [
        ("/v1/models/{model}/drift", "GET"),
        ("/v1/models/{model}/drift/{feature}", "GET"),
        ("/v1/models/{model}/features/{feature}/distribution", "GET"),
        ("/v1/models/{model}/performance", "GET"),
        ("/v1/models/{model}/alerts", "GET"),
        ("/v1/models/{model}/alerts/{alert_id}", "GET"),
        ("/v1/models/{model}/alerts/{alert_id}/acknowledge", "POST"),
        ("/v1/models/{model}/settings", "PUT"),
    ]:
        assert route in served, route


def test_every_error_response_uses_the_shared_error_shape():
    doc = openapi.document()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert response == {"$ref": f"#/components/responses/E{status}"}, (method, path, status)
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]


def test_alert_pages_are_bounded_to_1000():
    params = {p["name"]: p for p in openapi.PATHS["/v1/models/{model}/alerts"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 1000
    assert "cursor" in params
    assert "next_cursor" in openapi.SCHEMAS["AlertPage"]["required"]


def test_importing_the_client_imports_no_pandas():
    code = "import sys, seia_client.client, seia_query.openapi, seia_client.cli; print(','.join(m for m in ('pandas', 'numpy') if m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == ""
