"""End to end: a month of 100-row days of the 20-categorical-feature model, through PostgreSQL, the engine
and the query API (tests/support/smallsample.py). No drift, no alert; the 29-level uniform feature is
insufficient_data at 100 rows; a range recomputed by the query path (pure Python) judges like the engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support import smallsample as s

START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS, PER_DAY = 30, 100
UNIFORM_29 = s.FEATURES[18]


@pytest.fixture(scope="module")
def small(drift_tenant, engine):
    with drift_tenant.connect() as conn:
        s.load(
            conn,
            "small-windows",
            s.rows(0, s.REFERENCE_ROWS, 1, datetime(2026, 10, 1, tzinfo=UTC), "r", with_label=True),
            s.rows(1, PER_DAY, DAYS, START, "p", with_label=False),
        )
    engine.run(drift_tenant.tenant, "small-windows")
    return "small-windows"


def _drift(api, drift_tenant, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    reply = api.get(f"/v1/models/small-windows/drift?{query}", drift_tenant.api_key)
    assert reply.status == 200, reply.body
    return reply.body["windows"]


def test_a_month_of_small_windows_raises_no_drift_and_no_alert(small, reader, api, drift_tenant):
    results = reader.query(
        """SELECT r.window_start, r.feature, r.verdict FROM drift_results r JOIN models m ON m.id = r.model_id
           WHERE m.name = %s AND r.granularity = 'day'""",
        (small,),
    )
    assert len({r["window_start"] for r in results}) == DAYS
    assert [r for r in results if r["verdict"] == "drift"] == []
    assert reader.alerts(small) == []
    verdicts = {(r["feature"], r["verdict"]) for r in results if r["feature"] in (UNIFORM_29, s.FEATURES[19])}
    assert verdicts == {(UNIFORM_29, "insufficient_data"), (s.FEATURES[19], "no_drift")}


def test_the_query_path_judges_small_windows_like_the_engine(small, api, drift_tenant):
    days = _drift(api, drift_tenant, granularity="day", limit=DAYS)
    assert len(days) == DAYS
    for day in days[:5]:
        (whole,) = _drift(
            api,
            drift_tenant,
            granularity="range",
            **{"from": day["window_start"].replace("+00:00", "Z"), "to": day["window_end"].replace("+00:00", "Z")},
        )
        stored = {c["name"]: (c["verdict"], c["driver"], c["effect_ratio"]) for c in day["features"]}
        computed = {c["name"]: (c["verdict"], c["driver"], c["effect_ratio"]) for c in whole["features"]}
        assert computed.keys() == stored.keys()
        for name, (verdict, driver, ratio) in stored.items():
            assert computed[name][:2] == (verdict, driver), name
            assert (computed[name][2] is None) == (ratio is None), name
            if ratio is not None:
                assert computed[name][2] == pytest.approx(ratio, rel=1e-9), name
    # three days (300 rows) are enough rows for the 29 levels: judged, and quiet
    (three,) = _drift(
        api, drift_tenant, granularity="range", **{"from": "2026-11-01T00:00:00Z", "to": "2026-11-04T00:00:00Z"}
    )
    assert three["rows"] == 3 * PER_DAY
    assert {c["name"]: c["verdict"] for c in three["features"]}[UNIFORM_29] == "no_drift"
    assert {c["verdict"] for c in three["features"]} == {"no_drift"}
