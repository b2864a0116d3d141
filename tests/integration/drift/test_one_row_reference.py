"""A reference of one row: every numeric feature has one edge and no interior bucket. The drift run must judge
its windows (the core's way) instead of failing: the numpy batch of the drift step once raised an IndexError on
it (found by tests/integration/test_fuzz_api.py)."""

from __future__ import annotations

from seia.config import get_settings

REGRESSION = {"name": "price", "task": "regression", "features": [{"name": "x", "type": "numeric"}]}


def test_a_model_whose_reference_is_one_row_is_judged_without_error(api, tenant):
    from seia_drift.commands import run_drift

    assert api.post("/v1/models", tenant.api_key, json=REGRESSION).status == 201
    reference = {"prediction_id": "r0", "timestamp": "2026-11-01T10:00:00Z", "features": {"x": 1.5}, "prediction": 3.0}
    reply = api.post("/v1/models/price/reference", tenant.api_key, json={"records": [reference | {"label": 2.5}]})
    assert reply.status == 202
    rows = [
        {"prediction_id": f"p{i}", "timestamp": "2026-11-01T10:00:00Z", "features": {"x": x}, "prediction": 3.0}
        for i, x in enumerate((1.5, 0.5, 2.5))
    ]
    assert api.post("/v1/models/price/predictions", tenant.api_key, json={"records": rows}).status == 202

    report = run_drift(get_settings(), tenant.name, "price")[tenant.name]["price"]

    assert "error" not in report, report
    assert report["drift"]["hours"] == 1
    windows = api.get("/v1/models/price/drift?granularity=hour", tenant.api_key).body["windows"]
    assert [w["window_start"] for w in windows] == ["2026-11-01T10:00:00+00:00"]
    x = next(f for f in windows[0]["features"] if f["name"] == "x")
    assert x["rows"] == 3
