"""Multivariate drift through the engine: a correlation that flips while every marginal stays the same.

Each run builds a model (tests/support/multivariate_scenario.py), runs the drift engine as the worker
would, and reads what a user reads: the window's results and the incidents with their causes. Seeds 0..19.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import multivariate_scenario, scenarios

SEEDS = range(20)
FLAG_GOAL = 0.90  # the flip is flagged as multivariate drift in at least 90% of seeds
QUIET_GOAL = 0.90  # univariate verdicts (and, for the control, the multivariate one) stay quiet
MULTIVARIATE = "__multivariate__"


def _run(drift_tenant, engine, case: str, seed: int) -> str:
    name = f"mv-{case}-{seed}"
    with drift_tenant.connect() as conn:
        scenarios.load(conn, name, multivariate_scenario.generate(case, seed))
    engine.run(drift_tenant.tenant, name)
    return name


def _univariate_quiet(reader, name: str) -> bool:
    results = [r for r in reader.results(name) if r["feature"] != MULTIVARIATE]
    incidents = [a for a in reader.alerts(name) if a["kind"] != "multivariate_drift"]
    return bool(results) and all(r["verdict"] == "no_drift" for r in results) and not incidents


def test_a_flipped_correlation_is_multivariate_drift_while_every_univariate_verdict_stays_quiet(
    drift_tenant, engine, reader
):
    flagged, quiet, named, misses = 0, 0, 0, []
    for seed in SEEDS:
        name = _run(drift_tenant, engine, "flip", seed)
        [result] = reader.results(name, MULTIVARIATE)
        incidents = [a for a in reader.alerts(name) if a["kind"] == "multivariate_drift"]
        hit = result["verdict"] == "drift" and len(incidents) == 1
        flagged += hit
        quiet += _univariate_quiet(reader, name)
        if hit:
            causes = reader.causes(incidents[0]["id"])
            # the two features whose relation broke come first, though neither one's distribution moved
            named += {c["feature"] for c in causes[:2]} == set(multivariate_scenario.CORRELATED)
        else:
            misses.append((seed, result["statistics"]))
    print(f"\nflip: multivariate flagged {flagged}/20, univariate quiet {quiet}/20, pair named first {named}/20")
    assert flagged / len(SEEDS) >= FLAG_GOAL, misses
    assert quiet / len(SEEDS) >= QUIET_GOAL
    assert named == flagged


def test_the_stationary_control_stays_quiet(drift_tenant, engine, reader):
    alarms = []
    for seed in SEEDS:
        name = _run(drift_tenant, engine, "stationary", seed)
        [result] = reader.results(name, MULTIVARIATE)
        if result["verdict"] != "no_drift" or any(a["kind"] == "multivariate_drift" for a in reader.alerts(name)):
            alarms.append((seed, result["statistics"]))
        assert result["rows"] == scenarios.WINDOW_ROWS
        assert result["statistics"]["lower_threshold"] < result["statistics"]["reconstruction_error"]
    rate = len(alarms) / len(SEEDS)
    print(f"\nstationary: multivariate false-alarm rate {rate:.0%} over seeds {SEEDS.start}..{SEEDS.stop - 1}")
    assert 1 - rate >= QUIET_GOAL, alarms


def test_the_api_shows_the_multivariate_column_and_the_incident_with_its_causes(drift_tenant, engine, api):
    name = _run(drift_tenant, engine, "flip", 100)
    reply = api.get(f"/v1/models/{name}/drift?granularity=day", drift_tenant.api_key)
    assert reply.status == 200
    (window,) = reply.body["windows"]
    mv = window["multivariate"]
    assert (mv["name"], mv["kind"], mv["type"], mv["verdict"]) == (
        "multivariate",
        "multivariate",
        "multivariate",
        "drift",
    )
    assert mv["signals"] == ["reconstruction_error"] and mv["rows"] == scenarios.WINDOW_ROWS
    s = mv["statistics"]
    assert s["reconstruction_error"] > s["upper_threshold"] > s["reconstruction_error_ref"] > s["lower_threshold"]
    assert mv["effect_ratio"] >= 1
    # the multivariate column is not a feature: the features list is the model's own
    assert {c["name"] for c in window["features"]} == set(scenarios.NUMERIC) | set(scenarios.CATEGORICAL)
    # a range, merged in the query path from the engine's hourly error sketches, judges the same day alike
    ranged = api.get(
        f"/v1/models/{name}/drift?granularity=range&from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z",
        drift_tenant.api_key,
    )
    assert ranged.status == 200
    same = ranged.body["windows"][0]["multivariate"]
    assert {k: same[k] for k in ("verdict", "severity", "rows", "signals")} == {
        k: mv[k] for k in ("verdict", "severity", "rows", "signals")
    }
    assert same["statistics"] == pytest.approx(mv["statistics"], rel=1e-9)
    # hours (the model's windows are days): each hour's own 83 or 84 rows, fewer than min_rows (100)
    hours = api.get(f"/v1/models/{name}/drift?granularity=hour", drift_tenant.api_key).body["windows"]
    assert len(hours) == 24 and sum(h["multivariate"]["rows"] for h in hours) == scenarios.WINDOW_ROWS
    assert {h["multivariate"]["verdict"] for h in hours} == {"insufficient_data"}

    alerts = api.get(f"/v1/models/{name}/alerts", drift_tenant.api_key).body["alerts"]
    (incident,) = [a for a in alerts if a["kind"] == "multivariate_drift"]
    assert incident["subject"] == MULTIVARIATE and incident["condition"] == "reconstruction_error"
    detail = api.get(f"/v1/models/{name}/alerts/{incident['id']}", drift_tenant.api_key).body
    top = [c["name"] for c in detail["causes"][:2]]
    assert set(top) == set(multivariate_scenario.CORRELATED), detail["causes"]


def test_the_fit_is_stored_with_the_reference_and_refitted_when_it_or_the_variance_setting_changes(
    drift_tenant, engine, reader
):
    from psycopg.types.json import Jsonb

    from seia.repositories.records import ReferenceRepository

    name = _run(drift_tenant, engine, "flip", 200)
    model_id = reader.model_id(name)

    def stored():
        return reader.query("SELECT reference_key, fit FROM drift_multivariate WHERE model_id = %s", (model_id,))[0]

    first = stored()
    assert first["reference_key"] == "uploaded:1" and first["fit"]["variance"] == 0.65
    assert [c["feature"] for c in first["fit"]["numeric"]] == list(scenarios.NUMERIC)
    assert reader.results(name, MULTIVARIATE)[0]["verdict"] == "drift"

    # a smaller share of variance: fewer components, refitted on the next run, every window judged again
    with drift_tenant.connect() as conn:
        conn.execute(
            "UPDATE models SET settings = settings || %s WHERE id = %s",
            (Jsonb({"multivariate_variance": 0.3}), model_id),
        )
        conn.commit()
    engine.run(drift_tenant.tenant, name)
    second = stored()
    assert second["fit"]["variance"] == 0.3
    assert second["fit"]["n_components"] < first["fit"]["n_components"]
    [result] = reader.results(name, MULTIVARIATE)
    assert result["statistics"]["components"] == second["fit"]["n_components"]
    assert result["rows"] == scenarios.WINDOW_ROWS  # the rows were read again, not added twice

    # the window's rows (x3, x4 correlated −0.8) become the reference: refitted on them, nothing drifts
    data = multivariate_scenario.generate("flip", 200)
    new_reference = [row + (label, None) for row, (_, label, _, _) in zip(data.predictions, data.ground_truths)]
    with drift_tenant.connect() as conn, conn.transaction():
        ReferenceRepository(conn).add(model_id, new_reference, replace=True)
    engine.run(drift_tenant.tenant, name)
    assert stored()["reference_key"] == "uploaded:2"
    [result] = reader.results(name, MULTIVARIATE)
    assert result["verdict"] == "no_drift" and result["rows"] == scenarios.WINDOW_ROWS


def _hostile(data, seed: int):
    """The scenario's window with what a reader must treat alike: NULL, NaN, ±Infinity and beyond-±1e150
    numbers, NULL categories, unseen ones and ones COPY escapes (tab, backslash, newline)."""
    rng = np.random.default_rng(seed)
    rows = []
    for row in data.predictions:
        num, cat = list(row[2]), list(row[3])
        j = int(rng.integers(len(num)))
        num[j] = [None, float("nan"), float("inf"), -float("inf"), 3e200, num[j]][int(rng.integers(6))]
        k = int(rng.integers(len(cat)))
        cat[k] = [None, "tab\there", "back\\slash", "new\nline", "unseen", cat[k]][int(rng.integers(6))]
        rows.append((row[0], row[1], num, cat, *row[4:]))
    data.predictions = rows
    return data


def test_the_profile_steps_read_gives_the_multivariate_sketches_of_the_steps_own_read(
    drift_tenant, databases, reader, monkeypatch
):
    """The profile step counts the new rows' reconstruction errors in its own pass (one read of each
    row). With that pass turned off, the multivariate step reads the rows itself, as it did before. Both
    give the same hourly sketches and the same verdicts, over several chunks and a second batch of rows
    landing in an hour that already has a sketch."""
    from seia_drift.engine import DriftEngine
    from seia_drift.steps import multivariate as mv_step
    from seia_drift.steps import profile

    monkeypatch.setattr(profile, "CHUNK_ROWS", 700)
    monkeypatch.setattr(mv_step, "CHUNK_ROWS", 700)
    data = _hostile(multivariate_scenario.generate("flip", 3), 3)
    first, second = data.predictions[:1200], data.predictions[1200:]
    reports = {}
    for name in ("mv-shared", "mv-own"):
        if name == "mv-own":
            monkeypatch.setattr(profile, "shared_errors", lambda ctx, stored, xid: None)
        data.predictions = first
        with drift_tenant.connect() as conn:
            scenarios.load(conn, name, data)
        engine = DriftEngine(databases)
        reports[name] = [engine.run(drift_tenant.tenant, name)]
        with drift_tenant.connect() as conn, conn.transaction():
            from seia.repositories.records import PredictionRepository

            PredictionRepository(conn).add(reader.model_id(name), second)
        reports[name].append(engine.run(drift_tenant.tenant, name))

    # the shared pass took every row; the multivariate step read none itself (and did, without the fit step)
    for report in reports["mv-shared"]:
        assert report["profile"]["multivariate"] is True and report["multivariate"]["rows"] == 0
    assert [r["multivariate"]["rows"] for r in reports["mv-own"]] == [1200, 800]
    assert [r["profile"]["multivariate"] for r in reports["mv-own"]] == [False, False]

    def hourly(name):
        return reader.query(
            "SELECT hour, rows, sketch FROM drift_multivariate_hourly WHERE model_id = %s ORDER BY hour",
            (reader.model_id(name),),
        )

    shared, own = hourly("mv-shared"), hourly("mv-own")
    assert len(shared) == len(own) == 24
    assert sum(h["rows"] for h in shared) == 2000
    for a, b in zip(shared, own):
        assert (a["hour"], a["rows"], a["sketch"]["n"], a["sketch"]["histogram"]) == (
            b["hour"],
            b["rows"],
            b["sketch"]["n"],
            b["sketch"]["histogram"],
        )
        for key in ("mean", "m2"):
            assert a["sketch"][key] == pytest.approx(b["sketch"][key], rel=1e-9, abs=1e-9)
        assert a["sketch"]["sq"] == pytest.approx(b["sketch"]["sq"], rel=1e-9, abs=1e-9)
    [a] = reader.results("mv-shared", MULTIVARIATE)
    [b] = reader.results("mv-own", MULTIVARIATE)
    assert (a["verdict"], a["rows"]) == (b["verdict"], b["rows"]) == ("drift", 2000)
    for key in ("reconstruction_error", "reconstruction_error_std"):
        assert a["statistics"][key] == pytest.approx(b["statistics"][key], rel=1e-9)
