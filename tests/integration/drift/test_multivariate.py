"""Multivariate drift through the engine: a correlation that flips while every marginal stays the same.

Each run builds a model (tests/support/multivariate_scenario.py), runs the drift engine as the worker
would, and reads what a user reads: the window's results and the incidents with their causes. Seeds 0..19.
"""

from __future__ import annotations

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
