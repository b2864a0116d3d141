"""Registering and reading models over the HTTP API."""

from tests.support import data


def test_health_needs_no_key(api):
    reply = api.get("/health")
    assert reply.status == 200
    assert reply.body["status"] == "ok"


def test_create_model_returns_201_with_its_definition(api, tenant):
    reply = api.post("/v1/models", tenant.api_key, json=data.model())
    assert reply.status == 201
    assert reply.body["name"] == "churn"
    assert reply.body["labels"] == ["stay", "churn"]
    assert [f["name"] for f in reply.body["features"]] == ["age", "income", "plan"]


def test_creating_the_same_model_twice_is_409(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    reply = api.post("/v1/models", tenant.api_key, json=data.model())
    assert reply.status == 409
    assert reply.error["code"] == "conflict"


def test_list_and_get_models(api, tenant):
    api.post("/v1/models", tenant.api_key, json=data.model())
    api.post("/v1/models", tenant.api_key, json=data.model(name="price", task="regression", labels=None))
    listed = api.get("/v1/models", tenant.api_key)
    assert listed.status == 200
    assert [m["name"] for m in listed.body["models"]] == ["churn", "price"]
    one = api.get("/v1/models/price", tenant.api_key)
    assert one.status == 200 and one.body["task"] == "regression" and "labels" not in one.body


def test_unknown_model_is_404(api, tenant):
    reply = api.get("/v1/models/nope", tenant.api_key)
    assert reply.status == 404
    assert reply.error["code"] == "not_found"


def test_regression_model_rejects_labels_and_classification_needs_them(api, tenant):
    r1 = api.post("/v1/models", tenant.api_key, json=data.model(name="r", task="regression"))
    assert r1.status == 400 and "labels" in r1.fields()
    body = data.model(name="c")
    del body["labels"]
    r2 = api.post("/v1/models", tenant.api_key, json=body)
    assert r2.status == 400 and "labels" in r2.fields()


def test_model_definition_errors_are_all_listed(api, tenant):
    bad = {
        "name": "Bad Name",
        "task": "ranking",
        "features": [{"name": "x", "type": "vector"}, {"name": "x", "type": "numeric"}],
    }
    reply = api.post("/v1/models", tenant.api_key, json=bad)
    assert reply.status == 400
    assert {"name", "task", "features[0].type", "features[1].name"} <= reply.fields()
