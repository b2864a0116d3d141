"""Property-based: generated requests to every served route get documented statuses and shapes, never a 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from seia_query import openapi
from tests.support import data
from tests.support.live import serving

# The dashboard's HTML and assets are checked by the browser tests.
SKIP = {("/dashboard", "GET"), ("/dashboard/{file}", "GET")}
# What "documented" means: no 5xx, a status the document lists, and a body of the documented shape.
# (Schema-valid bodies may still be refused: a record must match its model's features and labels,
# which no schema of the route can say.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SERVED = sorted(openapi.operations(include_planned=False) - SKIP)


@pytest.fixture(scope="module")
def live(tenant_admin, settings):
    from tests.conftest import TenantHandle
    from tests.support.api import ApiClient

    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("schema"))
    client = ApiClient()
    assert client.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    assert client.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(20)).status == 202
    # A model with real drift results, alerts and causes, so the drift routes answer full bodies.
    from tests.support import drift_seed, scenarios

    drift_seed.seed(settings, tenant, {"shift": scenarios.generate("covariate_shift", 1)})
    with serving() as base_url:
        yield base_url, tenant


def _operation(path: str, method: str):
    schema = schemathesis.openapi.from_dict(openapi.document(include_planned=False))
    return schema[path][method.lower()]


@pytest.mark.parametrize(("path", "method"), SERVED, ids=[f"{m} {p}" for p, m in SERVED])
def test_generated_requests_get_documented_answers(live, path, method):
    base_url, tenant = live
    operation = _operation(path, method)
    calls = []

    @hsettings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case):
        calls.append(case)
        if "model" in (case.path_parameters or {}) and (len(calls) % 2 or not case.path_parameters["model"]):
            # Half the cases reach a seeded model (one without, one with drift results), not a 404.
            case.path_parameters["model"] = "shift" if len(calls) % 4 == 1 else "churn"
        if "alert_id" in (case.path_parameters or {}) and len(calls) % 3 == 0:
            case.path_parameters["alert_id"] = "1"
        if "feature" in (case.path_parameters or {}) and len(calls) % 3 == 0:
            case.path_parameters["feature"] = "x1" if len(calls) % 2 else "c0"
        case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {tenant.api_key}"}, checks=CHECKS)

    run()
