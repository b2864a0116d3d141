"""Property-based: whatever body arrives, the API answers 2xx or 4xx, never 5xx, and a 4xx writes nothing."""

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.support import data

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def _record():
    base = data.prediction(0)
    return st.fixed_dictionaries(
        {
            "prediction_id": st.one_of(st.text(max_size=12), st.integers(), json_values),
            "timestamp": st.one_of(st.just(base["timestamp"]), st.text(max_size=30), json_scalars),
            "features": st.one_of(
                st.fixed_dictionaries({"age": json_scalars, "income": json_scalars, "plan": json_scalars}), json_values
            ),
            "prediction": st.one_of(st.sampled_from(["stay", "churn"]), json_scalars),
            "score": st.one_of(st.none(), st.floats(-1, 2), json_values),
        }
    )


@pytest.fixture(scope="module")
def churn_module(tenant_admin):
    from tests.conftest import TenantHandle
    from tests.support.api import ApiClient

    t = TenantHandle(tenant_admin, tenant_admin.create_tenant("fuzz"))
    ApiClient().post("/v1/models", t.api_key, json=data.model())
    return t


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, st.fixed_dictionaries({"records": st.lists(_record(), min_size=1, max_size=4)})))
def test_random_prediction_bodies_never_5xx_and_4xx_writes_nothing(churn_module, body):
    from tests.support.api import ApiClient

    before = churn_module.snapshot()
    reply = ApiClient().post("/v1/models/churn/predictions", churn_module.api_key, json=body)
    assert reply.status in (202, 400, 413), reply.raw
    if reply.status != 202:
        assert set(reply.body["error"]) == {"code", "message", "details"}
        assert churn_module.snapshot() == before


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_random_bytes_are_4xx(churn_module, raw):
    from tests.support.api import ApiClient

    reply = ApiClient().request("POST", "/v1/models/churn/ground-truths", churn_module.api_key, raw=raw)
    assert 400 <= reply.status < 500
