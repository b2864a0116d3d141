"""Evidence: over many seeds, the injected cause ranks first, and a stationary model stays quiet.

Each run builds a model with one known injected cause (or two) (tests/support/scenarios.py), runs the
drift engine as the worker would, and reads what a user would read: the alerts and their ranked
causes. Seeds 0..19 per scenario.
"""

from __future__ import annotations

import pytest

from tests.support import scenarios

SEEDS = range(20)
RANK1_GOAL, QUIET_GOAL = 0.90, 0.95


def _run(drift_tenant, engine, scenario: str, seed: int) -> str:
    name = f"{scenario.replace('_', '-')}-{seed}"
    data = scenarios.generate(scenario, seed)
    with drift_tenant.connect() as conn:
        scenarios.load(conn, name, data)
    engine.run(drift_tenant.tenant, name)
    return name


def _hit(injected, causes: list[dict]) -> bool:
    """The injected feature ranks first; with several injected, one ranks first and all are in the top 3."""
    top = [c["feature"] for c in causes]
    if isinstance(injected, tuple):
        return bool(top) and top[0] in injected and all(f in top[:3] for f in injected)
    return bool(top) and top[0] == injected


@pytest.mark.parametrize("scenario", [s for s in scenarios.SCENARIOS if s != "stationary"])
def test_injected_cause_ranks_first(drift_tenant, engine, reader, scenario):
    outcomes, named_bystanders = [], []
    for seed in SEEDS:
        name = _run(drift_tenant, engine, scenario, seed)
        data = scenarios.generate(scenario, seed)
        alert, _ = reader.top_cause(name, scenarios.EXPECTED_KIND[scenario])
        causes = reader.causes(alert["id"]) if alert else []
        outcomes.append(
            (
                seed,
                alert["details"]["last_message"] if alert else None,
                [c["feature"] for c in causes[:3]],
                _hit(data.injected, causes),
                data.injected,
            )
        )
        named_bystanders += [
            (seed, c["sentence"]) for c in causes if c["feature"] == data.bystander and c["details"]["cause"] == "shift"
        ]
    hits = [o for o in outcomes if o[3]]
    rate = len(hits) / len(outcomes)
    print(f"\n{scenario}: rank-1 rate {rate:.0%} over seeds {SEEDS.start}..{SEEDS.stop - 1}")
    misses = "\n".join(
        f"  seed {s}: expected {inj}, got {got!r} ({msg!r})" for s, msg, got, hit, inj in outcomes if not hit
    )
    assert rate >= RANK1_GOAL, f"{scenario}: injected cause first in {rate:.0%} of runs\n{misses}"
    # a feature that moved without touching the model's errors is never named as the drop's cause
    assert not named_bystanders, named_bystanders


def test_stationary_control_raises_no_alert(drift_tenant, engine, reader):
    noisy = []
    for seed in SEEDS:
        name = _run(drift_tenant, engine, "stationary", seed)
        alerts = reader.alerts(name)
        if alerts:
            noisy.append((seed, [a["summary"] for a in alerts]))
    rate = len(noisy) / len(SEEDS)
    print(f"\nstationary: false-alert rate {rate:.0%} over seeds {SEEDS.start}..{SEEDS.stop - 1}")
    assert 1 - rate >= QUIET_GOAL, f"alerts on a stationary model: {noisy}"


def test_a_shift_into_saturation_is_named_as_the_shift_not_as_the_band_of_errors(drift_tenant, engine, reader):
    name = _run(drift_tenant, engine, "saturation", 100)
    data = scenarios.generate("saturation", 100)
    alert, cause = reader.top_cause(name, "performance")
    assert cause["feature"] == data.injected and cause["details"]["cause"] == "shift"
    assert cause["sentence"].startswith("accuracy fell ")
    assert f"; the shift of {data.injected} explains " in cause["sentence"]
    assert " of the rise in error rate (" in cause["sentence"]
    share = cause["details"]["shift_share"]
    assert cause["score"] == pytest.approx(min(share, 1.0), abs=1e-6) and 0 < cause["score"] <= 1
    # the band of the unshifted feature, where the errors sit, comes later and says it is concept drift
    band = [c for c in reader.causes(alert["id"]) if c["details"]["cause"] == "concept"]
    assert band and all("concept drift (no feature's shift explains the drop)" in c["sentence"] for c in band)


def test_a_performance_cause_reads_as_a_sentence(drift_tenant, engine, reader):
    name = _run(drift_tenant, engine, "concept_drift", 101)
    alert, cause = reader.top_cause(name, "performance")
    injected = scenarios.generate("concept_drift", 101).injected
    assert alert["details"]["last_message"].startswith("Performance dropped: accuracy ")
    assert alert["summary"].startswith("Accuracy dropped in the day of ")
    assert cause["feature"] == injected
    assert cause["sentence"].startswith("accuracy fell ")
    assert f"of the drop comes from rows with {injected} ≥ " in cause["sentence"]
