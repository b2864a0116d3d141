"""Sending predictions, ground truths and the reference set; reading window counts back."""

import pytest

from tests.support import data


@pytest.fixture
def churn(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    return tenant


def test_predictions_are_accepted_and_stored_as_typed_rows(api, churn):
    reply = api.post("/v1/models/churn/predictions", churn.api_key, json=data.predictions(50))
    assert reply.status == 202
    assert reply.body == {"accepted": 50, "duplicates": 0}
    with churn.connect() as conn:
        row = conn.execute(
            "SELECT num, cat, prediction_label, score FROM predictions WHERE prediction_id = 'p4'"
        ).fetchone()
    assert row == ([24.0, 4000.0], ["pro"], "churn", 0.04)


def test_a_prediction_id_already_stored_is_a_duplicate_not_stored_twice(api, churn):
    api.post("/v1/models/churn/predictions", churn.api_key, json=data.predictions(10))
    reply = api.post("/v1/models/churn/predictions", churn.api_key, json=data.predictions(10, start=5))
    assert reply.body == {"accepted": 5, "duplicates": 5}
    assert churn.snapshot()["predictions"] == 15


def test_missing_values_and_score_maps(api, churn):
    rec = data.prediction(1, features={"age": None, "income": 5.5, "plan": None}, score={"stay": 0.3, "churn": 0.7})
    assert api.post("/v1/models/churn/predictions", churn.api_key, json={"records": [rec]}).status == 202
    with churn.connect() as conn:
        row = conn.execute("SELECT num, cat, score, scores FROM predictions").fetchone()
    assert row == ([None, 5.5], [None], 0.7, [0.3, 0.7])


def test_ground_truths_join_whenever_the_prediction_exists(api, churn):
    # Labels for p0..p9 arrive before their predictions, p10..p14 match nothing yet.
    labels = {"records": [{"prediction_id": f"p{i}", "label": "churn"} for i in range(15)]}
    reply = api.post("/v1/models/churn/ground-truths", churn.api_key, json=labels)
    assert reply.status == 202
    assert reply.body == {"accepted": 15, "unmatched": 15, "expired": 0}
    api.post("/v1/models/churn/predictions", churn.api_key, json=data.predictions(10))
    stats = api.get("/v1/models/churn/stats?granularity=day", churn.api_key).body
    assert stats["windows"] == [{"window_start": "2026-11-01T00:00:00+00:00", "predictions": 10, "labelled": 10}]
    again = api.post("/v1/models/churn/ground-truths", churn.api_key, json=labels)
    assert again.body == {"accepted": 15, "unmatched": 5, "expired": 0}


def test_a_corrected_label_replaces_the_earlier_one(api, churn):
    api.post("/v1/models/churn/predictions", churn.api_key, json=data.predictions(1))
    api.post(
        "/v1/models/churn/ground-truths", churn.api_key, json={"records": [{"prediction_id": "p0", "label": "stay"}]}
    )
    api.post(
        "/v1/models/churn/ground-truths", churn.api_key, json={"records": [{"prediction_id": "p0", "label": "churn"}]}
    )
    with churn.connect() as conn:
        assert conn.execute("SELECT label FROM ground_truths").fetchall() == [("churn",)]


def test_stats_per_hour_and_day_within_a_range(api, churn):
    api.post("/v1/models/churn/predictions", churn.api_key, json=data.predictions(30, hour=10))
    api.post("/v1/models/churn/predictions", churn.api_key, json=data.predictions(20, start=100, hour=13))
    api.post(
        "/v1/models/churn/ground-truths",
        churn.api_key,
        json={"records": [{"prediction_id": f"p{i}", "label": "stay"} for i in range(100, 105)]},
    )
    hourly = api.get(
        "/v1/models/churn/stats?granularity=hour&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z", churn.api_key
    )
    assert hourly.status == 200
    assert hourly.body["windows"] == [
        {"window_start": "2026-11-01T10:00:00+00:00", "predictions": 30, "labelled": 0},
        {"window_start": "2026-11-01T13:00:00+00:00", "predictions": 20, "labelled": 5},
    ]
    later = api.get("/v1/models/churn/stats?from=2026-11-01T12:00:00%2B00:00", churn.api_key)
    assert [w["predictions"] for w in later.body["windows"]] == [20]
    past = api.get("/v1/models/churn/stats?from=2030-01-01T00:00:00Z", churn.api_key)
    assert past.status == 200 and past.body["windows"] == []


def test_stats_rejects_bad_parameters(api, churn):
    assert "granularity" in api.get("/v1/models/churn/stats?granularity=week", churn.api_key).fields()
    assert "from" in api.get("/v1/models/churn/stats?from=yesterday", churn.api_key).fields()


def test_reference_appends_and_replaces_only_when_asked(api, churn):
    first = [dict(data.prediction(i), label="stay") for i in range(20)]
    r1 = api.post("/v1/models/churn/reference", churn.api_key, json={"records": first})
    assert r1.status == 202 and r1.body["accepted"] == 20 and r1.body["reference_rows"] == 20
    more = [dict(data.prediction(i), label="churn") for i in range(15, 30)]
    r2 = api.post("/v1/models/churn/reference", churn.api_key, json={"records": more})
    assert r2.body["accepted"] == 15 - 5 and r2.body["duplicates"] == 5 and r2.body["reference_rows"] == 30
    r3 = api.post("/v1/models/churn/reference?replace=true", churn.api_key, json={"records": first[:7]})
    assert r3.body["reference_rows"] == 7 and r3.body["replaced"] is True
    assert r3.body["reference_version"] == 3
    assert churn.snapshot()["reference_rows"] == 7


def test_regression_and_multiclass_models(api, tenant):
    api.post("/v1/models", tenant.api_key, json=data.model(name="price", task="regression", labels=None))
    rec = data.prediction(1, prediction=12.5)
    del rec["score"]
    assert api.post("/v1/models/price/predictions", tenant.api_key, json={"records": [rec]}).status == 202
    gt = api.post(
        "/v1/models/price/ground-truths", tenant.api_key, json={"records": [{"prediction_id": "p1", "label": 11.0}]}
    )
    assert gt.body == {"accepted": 1, "unmatched": 0, "expired": 0}

    api.post(
        "/v1/models",
        tenant.api_key,
        json=data.model(name="tier", task="multiclass_classification", labels=["a", "b", 3]),
    )
    rec = data.prediction(2, prediction=3, score={"a": 0.1, "b": 0.2, "3": 0.7})
    assert api.post("/v1/models/tier/predictions", tenant.api_key, json={"records": [rec]}).status == 202
    with tenant.connect() as conn:
        assert conn.execute("SELECT prediction_label, scores FROM predictions WHERE prediction_id='p2'").fetchone() == (
            "3",
            [0.1, 0.2, 0.7],
        )


@pytest.mark.parametrize(
    "value",
    [
        'quote"d',
        "back\\slash",
        "tab\there",
        "new\nline",
        "{brace},comma",
        "NULL",
        "",
        "ünïcödé ✓",
        "\\N",
        "'; DROP TABLE predictions;--",
    ],
)
def test_any_category_text_is_stored_exactly(api, churn, value):
    rec = data.prediction(1, prediction_id=f"id {value}", features={"age": 1.5e-7, "income": -2e300, "plan": value})
    assert api.post("/v1/models/churn/predictions", churn.api_key, json={"records": [rec]}).status == 202
    with churn.connect() as conn:
        assert conn.execute("SELECT prediction_id, num, cat FROM predictions").fetchone() == (
            f"id {value}",
            [1.5e-7, -2e300],
            [value],
        )


def test_nul_characters_are_refused_not_a_server_error(api, churn):
    rec = data.prediction(1, features={"age": 1, "income": 2, "plan": "a\u0000b"})
    reply = api.post("/v1/models/churn/predictions", churn.api_key, json={"records": [rec]})
    assert reply.status == 400 and "features.plan" in reply.fields()
