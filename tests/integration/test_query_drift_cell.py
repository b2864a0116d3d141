"""GET /v1/models/{model}/drift/{feature}: one cell of the heat map, on real engine results.

The model is a seeded scenario (tests/support/scenarios.py: a 4,000-row reference, one day of 2,000
predictions on 2026-11-02, x1 shifted by one standard deviation) run through the drift engine.
"""

from __future__ import annotations

import pytest

from tests.support import scenarios

DAY = "2026-11-02T00:00:00Z"


@pytest.fixture(scope="module")
def world(tenant_admin, settings):
    import secrets

    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.conftest import TenantHandle

    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("c" + secrets.token_hex(4)))
    other = TenantHandle(tenant_admin, tenant_admin.create_tenant("c" + secrets.token_hex(4)))
    shift = scenarios.generate("covariate_shift", 1)
    with tenant.connect() as conn:
        scenarios.load(conn, "shift", shift)
    with other.connect() as conn:
        scenarios.load(conn, "secret", scenarios.generate("stationary", 3))
    databases = WorkerDatabases(settings)
    try:
        engine = DriftEngine(databases)
        engine.run(tenant.tenant, "shift")
        engine.run(other.tenant, "secret")
    finally:
        databases.close()
    return {"tenant": tenant, "other": other, "injected": shift.injected}


def _get(api, world, path, key=None):
    return api.get(path, key or world["tenant"].api_key)


def test_a_cell_has_the_window_distributions_statistics_and_the_incident_with_its_causes(api, world):
    injected = world["injected"]
    reply = _get(api, world, f"/v1/models/shift/drift/{injected}?window_start={DAY}&granularity=day")
    assert reply.status == 200, reply.body
    cell = reply.body
    assert (cell["column"], cell["kind"], cell["type"], cell["granularity"]) == (injected, "feature", "numeric", "day")
    assert (cell["window_start"], cell["window_end"]) == ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00")
    # the reference against the window: both histograms sum to one, over the window's 2,000 rows
    assert cell["reference"]["rows"] == 4000 and cell["current"]["rows"] == 2000
    assert sum(b["reference_share"] for b in cell["bins"]) == pytest.approx(1.0)
    assert sum(b["current_share"] for b in cell["bins"]) == pytest.approx(1.0)
    # the same statistics and verdict as the drift route's window
    drift = _get(api, world, f"/v1/models/shift/drift?granularity=day&from={DAY}&to=2026-11-03T00:00:00Z").body
    column = next(c for c in drift["windows"][0]["features"] if c["name"] == injected)
    assert cell["result"] == column
    assert cell["result"]["verdict"] == "drift" and cell["result"]["statistics"]["mean_cur"] > 0.8
    # the incident about x1 and the prediction drift x1 explains, with their causes
    subjects = {i["subject"] for i in cell["incidents"]}
    assert injected in subjects and "__score__" in subjects
    about = next(i for i in cell["incidents"] if i["subject"] == injected)
    assert about["status"] == "open" and about["causes"] and about["causes"][0]["name"] == injected


def test_a_cell_of_the_models_own_columns_and_a_calm_feature(api, world):
    score = _get(api, world, f"/v1/models/shift/drift/__score__?window_start={DAY}&granularity=day").body
    assert (score["column"], score["kind"]) == ("score", "prediction")
    assert score["result"]["name"] == "score" and score["bins"]
    calm = _get(api, world, f"/v1/models/shift/drift/x3?window_start={DAY}&granularity=day").body
    assert calm["result"]["verdict"] == "no_drift"
    assert [i["subject"] for i in calm["incidents"]] == []


def test_an_hour_cell_and_a_window_without_data(api, world):
    injected = world["injected"]
    hour = _get(api, world, f"/v1/models/shift/drift/{injected}?window_start=2026-11-02T10:00:00Z&granularity=hour")
    assert hour.status == 200 and hour.body["window_end"] == "2026-11-02T11:00:00+00:00"
    assert 0 < hour.body["current"]["rows"] < 2000
    empty = _get(api, world, f"/v1/models/shift/drift/{injected}?window_start=2026-10-01T00:00:00Z&granularity=day")
    assert empty.status == 200
    assert empty.body["result"] is None and empty.body["current"]["rows"] == 0 and empty.body["incidents"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("granularity=day", "window_start"),
        ("window_start=yesterday&granularity=day", "window_start"),
        ("window_start=2026-11-02T10:00:00Z&granularity=day", "window_start"),
        ("window_start=2026-11-02T10:30:00Z&granularity=hour", "window_start"),
        ("window_start=2026-11-02T00:00:00Z&granularity=week", "granularity"),
    ],
)
def test_a_bad_window_is_a_400_naming_its_field(api, world, query, field):
    reply = _get(api, world, f"/v1/models/shift/drift/{world['injected']}?{query}")
    assert reply.status == 400, reply.body
    assert reply.fields() == {field}


def test_an_unknown_column_or_another_tenants_model_is_404(api, world):
    assert _get(api, world, f"/v1/models/shift/drift/nope?window_start={DAY}").status == 404
    assert _get(api, world, f"/v1/models/secret/drift/x1?window_start={DAY}").status == 404
    own = _get(api, world, f"/v1/models/secret/drift/x1?window_start={DAY}", world["other"].api_key)
    assert own.status == 200 and own.body["model"] == "secret"
