"""Bad input gets a 4xx naming the problem, and the tenant database holds exactly what it held before."""

import json

import pytest

from tests.support import data


@pytest.fixture
def churn(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(5))
    return tenant


def _with(**changes):
    rec = data.prediction(900)
    for key, value in changes.items():
        if key == "features":
            rec["features"] = value
        else:
            rec[key] = value
    return {"records": [data.prediction(901), rec]}


def _features(**kw):
    f = {"age": 30, "income": 10.0, "plan": "pro"}
    f.update(kw)
    return {k: v for k, v in f.items() if v is not ...}


CASES = {
    "malformed json": dict(raw=b'{"records": [', status=400, field=None, text="not valid JSON"),
    "wrong content type": dict(
        raw=json.dumps(data.predictions(1)).encode(), content_type="text/csv", status=415, field="Content-Type"
    ),
    "no content type": dict(
        raw=json.dumps(data.predictions(1)).encode(), content_type=None, status=415, field="Content-Type"
    ),
    "missing feature": dict(body=_with(features=_features(income=...)), status=400, field="features.income", index=1),
    "unknown feature": dict(body=_with(features=_features(height=180)), status=400, field="features.height", index=1),
    "string for a number": dict(body=_with(features=_features(age="thirty")), status=400, field="features.age"),
    "NaN": dict(
        raw=b'{"records": [{"prediction_id": "x", "timestamp": "2026-11-01T00:00:00Z", '
        b'"features": {"age": NaN, "income": 1, "plan": "a"}, "prediction": "stay"}]}',
        status=400,
        field=None,
        text="NaN",
    ),
    "Infinity": dict(
        raw=b'{"records": [{"prediction_id": "x", "timestamp": "2026-11-01T00:00:00Z", '
        b'"features": {"age": 1, "income": -Infinity, "plan": "a"}, "prediction": "stay"}]}',
        status=400,
        field=None,
        text="Infinity",
    ),
    "number too large for a float": dict(
        raw=b'{"records": [{"prediction_id": "x", "timestamp": "2026-11-01T00:00:00Z", '
        b'"features": {"age": 1e999, "income": 1, "plan": "a"}, "prediction": "stay"}]}',
        status=400,
        field=None,
    ),
    "timestamp without offset": dict(
        body=_with(timestamp="2026-11-01T10:00:00"), status=400, field="timestamp", text="offset"
    ),
    "timestamp not a date": dict(body=_with(timestamp="yesterday"), status=400, field="timestamp"),
    "empty records": dict(body={"records": []}, status=400, field="records"),
    "records not a list": dict(body={"records": {"a": 1}}, status=400, field="records"),
    "body not an object": dict(body=[1, 2], status=400, field="records"),
    "duplicate prediction_id in the batch": dict(
        body={"records": [data.prediction(7), data.prediction(7)]}, status=400, field="prediction_id", index=1
    ),
    "prediction not a label": dict(body=_with(prediction="maybe"), status=400, field="prediction"),
    "score out of range": dict(body=_with(score=1.5), status=400, field="score"),
    "unknown record field": dict(body=_with(colour="red"), status=400, field="colour"),
    "too many records": dict(body=data.predictions(10_001), status=413, field="records"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_prediction_batches_are_rejected_whole(api, churn, case):
    spec = CASES[case]
    before = churn.snapshot()
    kwargs = {}
    if "content_type" in spec:
        kwargs["content_type"] = spec["content_type"]
    if "raw" in spec:
        reply = api.request("POST", "/v1/models/churn/predictions", churn.api_key, raw=spec["raw"], **kwargs)
    else:
        reply = api.post("/v1/models/churn/predictions", churn.api_key, json=spec["body"], **kwargs)
    assert reply.status == spec["status"], reply.body
    error = reply.error
    assert set(error) == {"code", "message", "details"}
    if spec.get("field"):
        assert spec["field"] in reply.fields()
    if "index" in spec:
        assert any(d["index"] == spec["index"] for d in error["details"])
    if "text" in spec:
        assert spec["text"] in json.dumps(error)
    assert churn.snapshot() == before


def test_every_bad_record_is_listed_and_the_good_ones_are_not_stored(api, churn):
    before = churn.snapshot()
    records = [data.prediction(i) for i in range(100, 110)]
    records[2]["features"]["age"] = "old"
    records[5]["timestamp"] = "2026-11-01 10:00:00"
    records[9]["prediction"] = None
    reply = api.post("/v1/models/churn/predictions", churn.api_key, json={"records": records})
    assert reply.status == 400
    assert sorted({d["index"] for d in reply.error["details"]}) == [2, 5, 9]
    assert "3 of 10 records are invalid" in reply.error["message"]
    assert churn.snapshot() == before


def test_body_over_6_mb_is_413(api, churn):
    before = churn.snapshot()
    big = json.dumps({"records": [data.prediction(1, prediction_id="x" * 150)] * 1}).encode()
    padding = b" " * (6 * 1024 * 1024)
    reply = api.request("POST", "/v1/models/churn/predictions", churn.api_key, raw=big[:-1] + padding + b"}")
    assert reply.status == 413
    assert reply.error["code"] == "payload_too_large"
    assert churn.snapshot() == before


@pytest.mark.parametrize("name", ["churn'; DROP TABLE models;--", 'a"b', "modèle", "ÜBER", "a b", "-lead", "x" * 65])
def test_hostile_model_names_are_rejected_on_create(api, churn, name):
    before = churn.snapshot()
    reply = api.post("/v1/models", churn.api_key, json=data.model(name=name))
    assert reply.status == 400
    assert "name" in reply.fields()
    assert churn.snapshot() == before


@pytest.mark.parametrize(
    "path_name", ["churn%27%3B%20DROP%20TABLE%20models%3B--", "%22quoted%22", "mod%C3%A8le", "..%2F..%2Fadmin"]
)
def test_hostile_model_names_in_paths_are_404(api, churn, path_name):
    before = churn.snapshot()
    reply = api.post(f"/v1/models/{path_name}/predictions", churn.api_key, json=data.predictions(1))
    assert reply.status == 404
    assert churn.snapshot() == before


def test_bad_ground_truths_are_rejected_whole(api, churn):
    before = churn.snapshot()
    records = [
        {"prediction_id": "p1", "label": "stay"},
        {"prediction_id": "p2", "label": "unknown"},
        {"prediction_id": "p1", "label": "churn"},
        {"label": "stay"},
    ]
    reply = api.post("/v1/models/churn/ground-truths", churn.api_key, json={"records": records})
    assert reply.status == 400
    assert {(d["index"], d["field"]) for d in reply.error["details"]} == {
        (1, "label"),
        (2, "prediction_id"),
        (3, "prediction_id"),
    }
    assert churn.snapshot() == before


def test_unknown_model_in_write_path_is_404(api, churn):
    reply = api.post("/v1/models/ghost/predictions", churn.api_key, json=data.predictions(1))
    assert reply.status == 404
