"""A batch is checked before a database connection is taken: a bad one is 400 even while the tenant's database is down."""

from __future__ import annotations

import socket

import pytest

from tests.support import data


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


@pytest.fixture
def unreachable(tenant_admin, make_tenant, api):
    tenant = make_tenant()
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    with tenant_admin.admin_connection() as admin:
        admin.execute("UPDATE tenants SET db_port = %s WHERE name = %s", (_dead_port(), tenant.name))
    yield tenant
    with tenant_admin.admin_connection() as admin:
        admin.execute("UPDATE tenants SET db_port = NULL WHERE name = %s", (tenant.name,))


@pytest.mark.parametrize(
    ("route", "record", "field"),
    [
        ("predictions", {"timestamp": "yesterday"}, "timestamp"),
        ("predictions", {"colour": "red"}, "colour"),
        ("reference", {"prediction_id": ""}, "prediction_id"),
        ("ground-truths", {"prediction_id": None}, "prediction_id"),
    ],
)
def test_a_bad_batch_is_400_while_the_database_is_unreachable(api, unreachable, route, record, field):
    if route == "ground-truths":
        records = [{"prediction_id": f"p{i}", "label": "stay"} for i in range(3)]
    else:
        records = [data.prediction(i) for i in range(3)]
    records[1] = {**records[1], **record}
    reply = api.post(f"/v1/models/churn/{route}", unreachable.api_key, json={"records": records})
    assert reply.status == 400
    assert [(d["index"], d["field"]) for d in reply.error["details"]] == [(1, field)]


def test_a_good_batch_is_503_while_the_database_is_unreachable(api, unreachable):
    reply = api.post("/v1/models/churn/predictions", unreachable.api_key, json=data.predictions(3))
    assert reply.status == 503


def test_with_the_database_up_a_batch_lists_its_envelope_and_model_errors_together(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    records = [data.prediction(i) for i in range(4)]
    records[1]["timestamp"] = "yesterday"
    records[3]["features"]["age"] = "old"
    reply = api.post("/v1/models/churn/predictions", tenant.api_key, json={"records": records})
    assert reply.status == 400
    assert [(d["index"], d["field"]) for d in reply.error["details"]] == [(1, "timestamp"), (3, "features.age")]
