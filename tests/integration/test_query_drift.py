"""Drift, distributions, performance, alerts and settings through the query API, on real engine results.

Each model is a seeded scenario (tests/support/scenarios.py: a 4,000-row reference, one day of 2,000
predictions on 2026-11-02 with labels) run through the drift engine as the worker runs it.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import datetime

import pytest

from tests.support import scenarios

DAY = "2026-11-02T00:00:00+00:00"
NEXT_DAY = "2026-11-03T00:00:00+00:00"


@pytest.fixture(scope="module")
def world(tenant_admin, settings):
    """A tenant with three scenarios run through the engine, and a second tenant with its own model."""
    import secrets

    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.conftest import TenantHandle

    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("q" + secrets.token_hex(4)))
    other = TenantHandle(tenant_admin, tenant_admin.create_tenant("q" + secrets.token_hex(4)))
    shift = scenarios.generate("covariate_shift", 1)  # x1 shifted by one standard deviation
    with tenant.connect() as conn:
        scenarios.load(conn, "shift", shift)
        scenarios.load(conn, "calm", scenarios.generate("stationary", 1))
        scenarios.load(conn, "unlabelled", dataclasses.replace(shift, ground_truths=shift.ground_truths[:400]))
    with other.connect() as conn:
        scenarios.load(conn, "secret", scenarios.generate("stationary", 3))
    databases = WorkerDatabases(settings)
    try:
        engine = DriftEngine(databases)
        for name in ("shift", "calm", "unlabelled"):
            engine.run(tenant.tenant, name)
        engine.run(other.tenant, "secret")
    finally:
        databases.close()
    return {"tenant": tenant, "other": other, "injected": shift.injected}


def _get(api, world, path, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return api.get(path + (f"?{query}" if query else ""), world["tenant"].api_key)


def _column(window, name):
    return next(c for c in window["features"] if c["name"] == name)


# -- drift ----------------------------------------------------------------------------------------------
def test_the_day_window_shows_drift_on_the_injected_feature_only(api, world):
    reply = _get(api, world, "/v1/models/shift/drift", granularity="day")
    assert reply.status == 200
    body = reply.body
    assert body["reference"] == {"version": 1, "source": "uploaded", "rows": 4000}
    (window,) = body["windows"]
    assert (window["window_start"], window["window_end"], window["rows"]) == (DAY, NEXT_DAY, 2000)
    drifted = {c["name"] for c in window["features"] if c["verdict"] == "drift"}
    assert drifted == {world["injected"]}
    x = _column(window, world["injected"])
    assert x["signals"] == ["distribution"] and x["severity"] in ("medium", "high")
    assert x["statistics"]["mean_cur"] - x["statistics"]["mean_ref"] == pytest.approx(1.0, abs=0.15)
    assert x["rows"] == 2000 and x["rows_reference"] == 4000
    assert window["prediction"]["name"] == "prediction" and window["score"]["verdict"] == "drift"
    assert window["label"]["kind"] == "label"


def test_a_stationary_model_has_no_drift(api, world):
    (window,) = _get(api, world, "/v1/models/calm/drift").body["windows"]
    assert {c["verdict"] for c in window["features"]} == {"no_drift"}


def test_the_range_window_merges_the_hourly_sketches_to_the_stored_day(api, world):
    """range over the day recomputes (pure Python) what the engine stored (numpy): same verdicts and statistics."""
    day = _get(api, world, "/v1/models/shift/drift", granularity="day").body["windows"][0]
    reply = _get(
        api,
        world,
        "/v1/models/shift/drift",
        granularity="range",
        **{"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"},
    )
    (whole,) = reply.body["windows"]
    assert whole["computed_at"] is None and whole["rows"] == day["rows"]
    for stored in day["features"] + [day["prediction"], day["score"], day["label"]]:
        computed = next(
            c
            for c in whole["features"] + [whole["prediction"], whole["score"], whole["label"]]
            if c["name"] == stored["name"]
        )
        assert (computed["verdict"], computed["severity"], computed["driver"]) == (
            stored["verdict"],
            stored["severity"],
            stored["driver"],
        ), stored["name"]
        for stat, value in stored["statistics"].items():
            if value is not None and "pvalue" not in stat and "qvalue" not in stat:
                assert computed["statistics"][stat] == pytest.approx(value, rel=1e-9, abs=1e-12), stat


def test_hour_windows_are_stored_and_without_from_the_latest_page_comes_first(api, world):
    first = _get(api, world, "/v1/models/shift/drift", granularity="hour", limit=10).body
    starts = [w["window_start"] for w in first["windows"]]
    # the newest ten hours of the day, oldest first within the page; the cursor leads to the hours before
    assert starts[0] == "2026-11-02T14:00:00+00:00" and starts[-1] == "2026-11-02T23:00:00+00:00"
    assert starts == sorted(starts) and first["next_cursor"] == "before:2026-11-02T14:00:00+00:00"
    # About 83 rows an hour, under min_rows 100: too few to judge; stored by the engine (computed_at set).
    assert {c["verdict"] for c in first["windows"][0]["features"]} == {"insufficient_data"}
    assert first["windows"][0]["computed_at"] is not None
    rest = _get(
        api,
        world,
        "/v1/models/shift/drift",
        granularity="hour",
        limit=1000,
        cursor=first["next_cursor"].replace("+", "%2B"),
    ).body
    assert len(rest["windows"]) == 14 and rest["next_cursor"] is None
    assert rest["windows"][0]["window_start"] == DAY and rest["windows"][-1]["window_start"] < starts[0]
    assert sum(w["rows"] for w in first["windows"] + rest["windows"]) == 2000


def test_with_from_hour_windows_page_forward_from_it(api, world):
    first = _get(
        api, world, "/v1/models/shift/drift", granularity="hour", limit=10, **{"from": DAY.replace("+", "%2B")}
    )
    first = first.body
    assert len(first["windows"]) == 10 and first["next_cursor"] == first["windows"][-1]["window_start"]
    assert first["windows"][0]["window_start"] == DAY
    rest = _get(
        api,
        world,
        "/v1/models/shift/drift",
        granularity="hour",
        limit=1000,
        cursor=first["next_cursor"].replace("+", "%2B"),
        **{"from": DAY.replace("+", "%2B")},
    ).body
    assert len(rest["windows"]) == 14 and rest["next_cursor"] is None
    assert sum(w["rows"] for w in first["windows"] + rest["windows"]) == 2000


def test_ranges_past_the_data_answer_empty(api, world):
    for granularity in ("hour", "day", "range"):
        body = _get(
            api, world, "/v1/models/shift/drift", granularity=granularity, **{"from": "2030-01-01T00:00:00Z"}
        ).body
        assert body["windows"] == [] and body["next_cursor"] is None, granularity
    assert _get(api, world, "/v1/models/shift/performance", **{"from": "2030-01-01T00:00:00Z"}).body["windows"] == []
    assert _get(api, world, "/v1/models/shift/alerts", **{"to": "2020-01-01T00:00:00Z"}).body["alerts"] == []


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("drift", {"granularity": "week"}, "granularity"),
        ("drift", {"limit": "0"}, "limit"),
        ("drift", {"limit": "1001"}, "limit"),
        ("drift", {"from": "yesterday"}, "from"),
        ("drift", {"from": "2026-11-03T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, "to"),
        ("drift", {"cursor": "nope"}, "cursor"),
        ("performance", {"granularity": "month"}, "granularity"),
        ("alerts", {"status": "closed"}, "status"),
        ("alerts", {"cursor": "x"}, "cursor"),
        ("alerts", {"cursor": "0.-99999999999999999.1"}, "cursor"),
        ("alerts", {"limit": "0"}, "limit"),
        ("alerts", {"from": "soon"}, "from"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(api, world, path, params, field):
    reply = _get(api, world, f"/v1/models/shift/{path}", **params)
    assert reply.status == 400 and field in reply.fields()


# -- distributions --------------------------------------------------------------------------------------
def test_a_numeric_distribution_is_binned_on_reference_quantiles(api, world):
    name = world["injected"]
    body = _get(api, world, f"/v1/models/shift/features/{name}/distribution").body
    assert body["type"] == "numeric" and body["reference"]["rows"] == 4000 and body["current"]["rows"] == 2000
    bins = body["bins"]
    assert 10 <= len(bins) <= 20 and bins[0]["lower"] is None and bins[-1]["upper"] is None
    assert sum(b["reference_share"] for b in bins) == pytest.approx(1.0)
    assert all(abs(b["reference_share"] - 1 / len(bins)) < 0.02 for b in bins)
    # Shifted up by one standard deviation: the top bin holds far more than its reference share.
    assert bins[-1]["current_share"] > 3 * bins[-1]["reference_share"]


def test_a_categorical_distribution_gives_category_shares(api, world):
    body = _get(api, world, "/v1/models/shift/features/c0/distribution").body
    shares = {c["category"]: c for c in body["categories"]}
    assert set(shares) == {"a", "b", "c", "d", "e"}
    assert shares["a"]["reference_share"] == pytest.approx(0.3, abs=0.03)
    assert not any(c["unseen"] for c in body["categories"])


def test_an_unknown_feature_is_404(api, world):
    assert _get(api, world, "/v1/models/shift/features/nope/distribution").status == 404


# -- performance ----------------------------------------------------------------------------------------
def test_performance_has_metrics_coverage_and_the_provisional_flag(api, world):
    (full,) = _get(api, world, "/v1/models/shift/performance").body["windows"]
    assert (full["predictions"], full["labelled"], full["label_coverage"], full["provisional"]) == (
        2000,
        2000,
        1.0,
        False,
    )
    assert 0.5 < full["metrics"]["accuracy"] < 1 and 0.5 < full["metrics"]["roc_auc"] < 1
    (partial,) = _get(api, world, "/v1/models/unlabelled/performance").body["windows"]
    assert (partial["labelled"], partial["label_coverage"], partial["provisional"]) == (400, 0.2, True)


def test_hourly_performance_adds_up_to_the_day(api, world):
    hours = _get(api, world, "/v1/models/shift/performance", granularity="hour", limit=1000).body["windows"]
    (day,) = _get(api, world, "/v1/models/shift/performance", granularity="range").body["windows"]
    assert len(hours) == 24 and sum(h["labelled"] for h in hours) == day["labelled"] == 2000
    stored = _get(api, world, "/v1/models/shift/performance", granularity="day").body["windows"][0]
    assert day["metrics"]["accuracy"] == pytest.approx(stored["metrics"]["accuracy"], rel=1e-12)
    assert day["metrics"]["roc_auc"] == pytest.approx(stored["metrics"]["roc_auc"], rel=1e-12)


def test_performance_has_the_estimate_with_its_band_before_the_labels(api, world):
    (day,) = _get(api, world, "/v1/models/unlabelled/performance").body["windows"]
    estimated = day["estimated"]
    assert estimated["rows"] == 2000 and set(estimated["metrics"]) == {
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
    }
    for m in estimated["metrics"].values():
        assert 0 <= m["lower"] < m["value"] < m["upper"] <= 1 and m["sampling_error"] > 0
    # the scores are the true probabilities: the realized accuracy of all rows lies in the band
    (full,) = _get(api, world, "/v1/models/shift/performance").body["windows"]
    accuracy = full["estimated"]["metrics"]["accuracy"]
    assert accuracy["lower"] <= full["metrics"]["accuracy"] <= accuracy["upper"]
    # any range is a merge of hours: the same estimate as the stored day
    (merged,) = _get(api, world, "/v1/models/unlabelled/performance", granularity="range").body["windows"]
    hours = _get(api, world, "/v1/models/unlabelled/performance", granularity="hour", limit=1000).body["windows"]
    assert len(hours) == 24 and sum(h["estimated"]["rows"] for h in hours) == 2000
    for name, m in estimated["metrics"].items():
        for key in ("value", "lower", "upper"):
            assert merged["estimated"]["metrics"][name][key] == pytest.approx(m[key], abs=1e-9)


# -- alerts (incidents) ---------------------------------------------------------------------------------
def test_alerts_are_incidents_that_say_what_drifted_with_ranked_causes_in_words(api, world):
    page = _get(api, world, "/v1/models/shift/alerts").body
    assert page["alerts"] and page["next_cursor"] is None
    kinds = {a["kind"] for a in page["alerts"]}
    assert {"feature_drift", "prediction_drift"} <= kinds
    feature = next(a for a in page["alerts"] if a["kind"] == "feature_drift")
    assert feature["subject"] == world["injected"] and feature["status"] == "open"
    assert feature["summary"] == (
        f"Feature {world['injected']} drifted in the day of 2026-11-02 (at worst {feature['peak_severity']}); "
        "still open."
    )
    assert (feature["first_window_start"], feature["last_window_end"], feature["windows_flagged"]) == (
        DAY,
        NEXT_DAY,
        1,
    )
    prediction = next(a for a in page["alerts"] if a["kind"] == "prediction_drift")
    detail = _get(api, world, f"/v1/models/shift/alerts/{prediction['id']}").body
    assert detail["causes"][0]["rank"] == 1 and detail["causes"][0]["name"] == world["injected"]
    assert world["injected"] in detail["causes"][0]["message"]
    assert len(prediction["causes"]) <= 3
    [window] = detail["timeline"]
    assert (window["window_start"], window["window_end"], window["state"]) == (DAY, NEXT_DAY, "flagged")
    assert window["severity"] == prediction["severity"] and window["message"].startswith("Predictions (")
    assert detail["deliveries"] == []  # the model has no notification channel


def test_acknowledging_moves_an_alert_out_of_the_open_list(api, world):
    key = world["tenant"].api_key
    open_before = _get(api, world, "/v1/models/shift/alerts").body["alerts"]
    target = open_before[0]
    reply = api.post(f"/v1/models/shift/alerts/{target['id']}/acknowledge", key, json={"note": "known rollout"})
    assert reply.status == 200
    assert (reply.body["status"], reply.body["note"]) == ("acknowledged", "known rollout")
    assert reply.body["acknowledged_at"] is not None
    again = api.post(f"/v1/models/shift/alerts/{target['id']}/acknowledge", key, raw=b"", content_type=None)
    assert again.status == 200 and again.body["acknowledged_at"] == reply.body["acknowledged_at"]
    assert target["id"] not in {a["id"] for a in _get(api, world, "/v1/models/shift/alerts").body["alerts"]}
    acknowledged = _get(api, world, "/v1/models/shift/alerts", status="acknowledged").body["alerts"]
    assert [a["id"] for a in acknowledged] == [target["id"]]
    assert len(_get(api, world, "/v1/models/shift/alerts", status="all").body["alerts"]) == len(open_before)


def test_resolving_by_hand_closes_an_incident_once_and_records_the_change(api, world):
    key = world["tenant"].api_key
    target = _get(api, world, "/v1/models/shift/alerts").body["alerts"][-1]
    reply = api.post(f"/v1/models/shift/alerts/{target['id']}/resolve", key, raw=b"", content_type=None)
    assert reply.status == 200
    assert (reply.body["status"], reply.body["resolved_by"]) == ("resolved", "user")
    assert reply.body["resolved_at"] is not None
    conflict = api.post(f"/v1/models/shift/alerts/{target['id']}/resolve", key, json={})
    assert conflict.status == 409 and conflict.fields() == {"status"}
    assert api.post(f"/v1/models/shift/alerts/{target['id']}/acknowledge", key, json={}).status == 409
    resolved = _get(api, world, "/v1/models/shift/alerts", status="resolved").body["alerts"]
    assert [a["id"] for a in resolved] == [target["id"]]
    # the open (and acknowledged) incidents come before it in the full list
    everything = _get(api, world, "/v1/models/shift/alerts", status="all").body["alerts"]
    assert everything[-1]["id"] == target["id"]
    with world["tenant"].connect() as conn:
        changes = conn.execute(
            "SELECT change, severity FROM incident_changes WHERE incident_id = %s ORDER BY id", (int(target["id"]),)
        ).fetchall()
    assert changes == [("opened", target["peak_severity"]), ("resolved", target["severity"])]


def test_alert_pages_follow_the_cursor_open_first_then_newest(api, world):
    everything = _get(api, world, "/v1/models/shift/alerts", status="all").body["alerts"]
    assert len(everything) >= 2
    seen, cursor = [], None
    while True:
        params = {"status": "all", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = _get(api, world, "/v1/models/shift/alerts", **params).body
        seen += [a["id"] for a in page["alerts"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [a["id"] for a in everything]
    assert seen == [
        a["id"]
        for a in sorted(
            everything,
            key=lambda a: (
                a["status"] == "resolved",
                -datetime.fromisoformat(a["last_window_end"]).timestamp(),
                -int(a["id"]),
            ),
        )
    ]


def test_unknown_alerts_are_404(api, world):
    key = world["tenant"].api_key
    assert _get(api, world, "/v1/models/shift/alerts/999999").status == 404
    assert _get(api, world, "/v1/models/shift/alerts/abc").status == 404
    assert api.post("/v1/models/shift/alerts/999999/acknowledge", key, json={}).status == 404
    assert api.post("/v1/models/shift/alerts/999999/resolve", key, json={}).status == 404
    bad = api.post("/v1/models/shift/alerts/1/acknowledge", key, json={"note": 5})
    assert bad.status in (400, 404)


def test_an_incident_of_another_tenant_is_404_to_read_acknowledge_or_resolve(api, world):
    theirs = 900_000_001
    with world["other"].connect() as conn:
        conn.execute(
            """INSERT INTO incidents (id, model_id, kind, subject, condition, reference_key, granularity, severity,
                                      peak_severity, first_window_start, last_window_end, windows_flagged, summary)
               OVERRIDING SYSTEM VALUE
               SELECT %s, id, 'feature_drift', 'x1', 'distribution', 'uploaded:1', 'day', 'high', 'high',
                      %s::timestamptz, %s::timestamptz, 1, 'theirs' FROM models WHERE name = 'secret'""",
            (theirs, DAY, NEXT_DAY),
        )
        conn.commit()
    key = world["tenant"].api_key
    for model in ("shift", "secret"):
        assert _get(api, world, f"/v1/models/{model}/alerts/{theirs}").status == 404
        assert api.post(f"/v1/models/{model}/alerts/{theirs}/resolve", key, json={}).status == 404
        assert api.post(f"/v1/models/{model}/alerts/{theirs}/acknowledge", key, json={}).status == 404
    with world["other"].connect() as conn:
        assert conn.execute("SELECT status FROM incidents WHERE id = %s", (theirs,)).fetchone()[0] == "open"


# -- isolation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["drift", "performance", "alerts", "alerts/1", "features/x0/distribution"])
def test_another_tenants_model_is_404_like_a_missing_one(api, world, path):
    secret = _get(api, world, f"/v1/models/secret/{path}")
    ghost = _get(api, world, f"/v1/models/ghost/{path}")
    assert secret.status == ghost.status == 404
    assert secret.body["error"]["code"] == ghost.body["error"]["code"] == "not_found"
    own = api.get(f"/v1/models/secret/{path}", world["other"].api_key)
    assert own.status in (200, 404) and (own.status == 200 or path == "alerts/1")


def test_settings_of_another_tenants_model_cannot_be_changed(api, world):
    reply = api.request("PUT", "/v1/models/secret/settings", world["tenant"].api_key, json_body={"window": "hour"})
    assert reply.status == 404


# -- settings -------------------------------------------------------------------------------------------
def _put(api, world, model, body):
    return api.request("PUT", f"/v1/models/{model}/settings", world["tenant"].api_key, json_body=body)


def test_settings_round_trip_in_the_engines_own_keys(api, world):
    from seia_drift.settings import DriftSettings

    body = {
        "window": "hour",
        "min_rows": 50,
        "thresholds": {"psi": 0.25, "alpha": 0.01},
        "coverage_threshold": 0.8,
        "performance_drop": {"accuracy": 0.1},
        "reference_policy": "uploaded",
        "webhook_url": "https://hooks.example.com/seia",
    }
    reply = _put(api, world, "calm", body)
    assert reply.status == 200 and reply.body == {"model": "calm", "settings": body}
    parsed = DriftSettings.from_model(reply.body["settings"])
    assert (parsed.window, parsed.min_rows, parsed.thresholds.psi, parsed.thresholds.alpha) == ("hour", 50, 0.25, 0.01)
    assert (parsed.coverage_threshold, parsed.accuracy_drop, parsed.webhook_url) == (0.8, 0.1, body["webhook_url"])
    # A key sent replaces, null removes (back to the default), the others stay.
    reply = _put(api, world, "calm", {"webhook_url": None, "min_rows": 200})
    assert "webhook_url" not in reply.body["settings"] and reply.body["settings"]["min_rows"] == 200
    assert reply.body["settings"]["thresholds"] == {"psi": 0.25, "alpha": 0.01}
    # The drift route now derives the engine's day windows per hour, judged with the new min_rows.
    drift = _get(api, world, "/v1/models/calm/drift").body
    assert drift["granularity"] == "hour" and len(drift["windows"]) == 24
    assert (
        _put(
            api,
            world,
            "calm",
            {
                "window": None,
                "min_rows": None,
                "thresholds": None,
                "coverage_threshold": None,
                "performance_drop": None,
                "reference_policy": None,
            },
        ).body["settings"]
        == {}
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"window": "week"}, "window"),
        ({"min_rows": 0}, "min_rows"),
        ({"min_rows": True}, "min_rows"),
        ({"thresholds": {"psi": -1}}, "thresholds.psi"),
        ({"thresholds": {"js_distance": 2}}, "thresholds.js_distance"),
        ({"thresholds": {"alpha": 1}}, "thresholds.alpha"),
        ({"thresholds": {"bogus": 1}}, "thresholds.bogus"),
        ({"thresholds": {"medium_factor": 5}}, "thresholds.medium_factor"),
        ({"coverage_threshold": 1.5}, "coverage_threshold"),
        ({"performance_drop": {"accuracy": 0}}, "performance_drop.accuracy"),
        ({"reference_policy": "rolling"}, "reference_policy"),
        ({"webhook_url": "ftp://example.com"}, "webhook_url"),
        ({"granularity": "day"}, "granularity"),
    ],
)
def test_bad_settings_are_400_naming_the_field(api, world, body, field):
    reply = _put(api, world, "shift", body)
    assert reply.status == 400 and field in reply.fields()


def test_the_engine_honours_a_threshold_set_through_the_api(api, world, settings):
    """Given a PSI/JS/Wasserstein threshold no shift reaches, the engine calls the shifted feature no_drift."""
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    with world["tenant"].connect() as conn:
        scenarios.load(conn, "lenient", scenarios.generate("covariate_shift", 1))
    reply = _put(
        api,
        world,
        "lenient",
        {"thresholds": {"psi": 50, "js_distance": 1, "wasserstein_normed": 50, "missing_rate_increase": 1}},
    )
    assert reply.status == 200
    databases = WorkerDatabases(settings)
    try:
        DriftEngine(databases).run(world["tenant"].tenant, "lenient")
    finally:
        databases.close()
    (window,) = _get(api, world, "/v1/models/lenient/drift").body["windows"]
    assert _column(window, world["injected"])["verdict"] == "no_drift"


# -- import weight --------------------------------------------------------------------------------------
def test_serving_every_route_imports_no_numpy(world):
    """The query function answers every route (range and derived windows included) without numpy or scipy."""
    tenant = world["tenant"]
    code = f"""
import sys
from tests.support.api import ApiClient
api, key = ApiClient(), {tenant.api_key!r}
for path in ["/v1/models/shift/drift?granularity=range", "/v1/models/shift/drift?granularity=hour",
             "/v1/models/shift/drift?granularity=day", "/v1/models/shift/features/x1/distribution",
             "/v1/models/shift/features/c0/distribution", "/v1/models/shift/performance?granularity=range",
             "/v1/models/shift/performance?granularity=hour", "/v1/models/shift/alerts?status=all",
             "/v1/models/shift/alerts/1"]:
    assert api.get(path, key).status in (200, 404), path
assert api.request("PUT", "/v1/models/shift/settings", key, json_body={{}}).status == 200
print(",".join(m for m in ("numpy", "scipy", "pandas") if m in sys.modules))
"""
    import os

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""])
