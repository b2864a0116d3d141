"""Data an earlier version stored and today's rules refuse (issue 11) never stops the engine or the reads:
rows out of range are skipped, refused settings take their defaults, reserved features are left out, and
one data-quality finding says so."""

from __future__ import annotations

import json

import pytest

from tests.support import scenarios

OLD_SETTINGS = {
    "window": "minute",
    "coverage_threshold": "abc",
    "thresholds": {"psi": -1},
    "webhook_url": "file:///etc/passwd",
    "min_rows": 50,
}


def _load_as_an_old_version(tenant, name: str, settings: dict, rename: dict | None = None) -> None:
    """The scenario's model and rows, written with a superuser as an earlier version would have (no checks)."""
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository
    from seia.schema import Feature

    data = scenarios.generate("missing_spike", 5)
    body = scenarios.model_definition(name)
    features = [Feature((rename or {}).get(f["name"], f["name"]), f["type"]) for f in body["features"]]
    with tenant.connect() as conn:
        with conn.transaction():
            model = ModelRepository(conn).insert(name, body["task"], features, body["labels"], {})
            conn.execute(
                "UPDATE models SET settings = %s::jsonb WHERE id = %s",
                (json.dumps(settings), model.id),
            )
            ReferenceRepository(conn).add(model.id, data.reference, replace=False)
        with conn.transaction():
            PredictionRepository(conn).add(model.id, data.predictions)
            GroundTruthRepository(conn).add(model.id, data.ground_truths)
            # Rows with timestamps of UTC year 10000 and year 0, and one of 1900, as the old parser took them.
            for i, ts in enumerate(["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", "1900-01-01T00:00:00Z"]):
                # their partitions, as tenant migration 0009 made them for the rows stored then
                conn.execute("SELECT seia_raw_partition('predictions', %s, %s::timestamptz)", (model.id, ts))
                conn.execute(
                    """INSERT INTO predictions (model_id, prediction_id, ts, num, cat, prediction_label, score)
                       SELECT model_id, %s, %s::timestamptz, num, cat, prediction_label, score
                       FROM predictions WHERE model_id = %s LIMIT 1""",
                    (f"old-{i}", ts, model.id),
                )
                conn.execute(
                    "INSERT INTO ground_truths (model_id, prediction_id, label, ts) VALUES (%s, %s, 'yes', %s)",
                    (model.id, f"old-{i}", ts),
                )


@pytest.fixture(scope="module")
def old_tenant(tenant_admin):
    import secrets

    from tests.conftest import TenantHandle

    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("o" + secrets.token_hex(4)))
    _load_as_an_old_version(tenant, "legacy", OLD_SETTINGS)
    _load_as_an_old_version(tenant, "reserved", {}, rename={"x4": "__score__", "c1": "__label__"})
    return tenant


@pytest.fixture(scope="module")
def report(settings, old_tenant):
    from seia_drift.commands import run_drift

    return run_drift(settings, old_tenant.name)[old_tenant.name]


def _finding(api, tenant, model: str) -> dict:
    reply = api.get(f"/v1/models/{model}/alerts?status=all", tenant.api_key)
    assert reply.status == 200, reply.raw[:300]
    found = [a for a in reply.body["alerts"] if a["kind"] == "data_quality" and a["subject"] == "stored_data"]
    assert len(found) == 1, reply.body["alerts"]
    return found[0]


def test_the_drift_run_succeeds_and_skips_the_rows_out_of_range(report):
    assert "error" not in report["legacy"], report["legacy"]
    assert "error" not in report["reserved"], report["reserved"]
    assert report["legacy"]["audit"] == {"skipped_rows": 3, "findings": 5, "ms": report["legacy"]["audit"]["ms"]}
    # the profile step reads the new rows of the run (the three old ones among them) and sketches only the others
    assert report["legacy"]["profile"]["rows"] == scenarios.WINDOW_ROWS + 3
    assert report["legacy"]["drift"]["windows"] >= 1


def test_the_finding_names_the_rows_and_the_refused_settings(api, old_tenant, report):
    finding = _finding(api, old_tenant, "legacy")
    summary = finding["summary"]
    assert "3 prediction rows have a timestamp outside the years 1970 to 2200 (UTC)" in summary
    for key in ("settings.window", "settings.coverage_threshold", "settings.thresholds.psi", "settings.webhook_url"):
        assert key in summary, summary
    assert "min_rows" not in summary  # a valid key is kept


def test_refused_settings_take_their_defaults_and_valid_ones_apply(api, old_tenant, report):
    reply = api.get("/v1/models/legacy/drift", old_tenant.api_key)
    assert reply.status == 200, reply.raw[:300]
    assert reply.body["granularity"] == "day"  # 'minute' was refused: the default window


def test_reserved_features_are_left_out_and_named(api, old_tenant, report):
    summary = _finding(api, old_tenant, "reserved")["summary"]
    assert "feature '__score__' is reserved" in summary and "feature '__label__' is reserved" in summary
    assert "prediction rows" in summary
    with old_tenant.connect() as conn:
        features = {
            r[0]
            for r in conn.execute(
                "SELECT feature FROM drift_features f JOIN models m ON m.id = f.model_id WHERE m.name = 'reserved'"
            )
        }
    assert {"x0", "c0", "__score__", "__prediction__", "__label__"} <= features
    assert "x4" not in features and "c1" not in features


@pytest.mark.parametrize("model", ["legacy", "reserved"])
@pytest.mark.parametrize(
    "route",
    [
        "",
        "/stats",
        "/stats?granularity=day",
        "/drift",
        "/drift?granularity=hour",
        "/performance",
        "/performance?granularity=hour",
        "/alerts?status=all",
        "/features/x0/distribution",
        "/features/c0/distribution",
    ],
)
def test_every_read_route_answers_200(api, old_tenant, report, model, route):
    reply = api.get(f"/v1/models/{model}{route}", old_tenant.api_key)
    assert reply.status == 200, reply.raw[:300]


def test_the_stats_route_leaves_out_the_rows_out_of_range(api, old_tenant, report):
    body = api.get("/v1/models/legacy/stats?granularity=day", old_tenant.api_key).body
    assert sum(w["predictions"] for w in body["windows"]) == scenarios.WINDOW_ROWS
    assert all(w["window_start"].startswith("2026-") for w in body["windows"])


def test_a_second_run_changes_nothing_and_the_finding_stays_one(api, settings, old_tenant, report):
    from seia_drift.commands import run_drift

    again = run_drift(settings, old_tenant.name, "legacy")[old_tenant.name]["legacy"]
    assert again["audit"]["skipped_rows"] == 3
    _finding(api, old_tenant, "legacy")
