"""The drift engine end to end: rows in PostgreSQL → hourly sketches → results, alerts, causes.

What is asserted is what a user (or the query API) reads back from the tenant's drift tables.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import ks_2samp

from tests.support import scenarios

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _load(tenant, name, scenario="covariate_shift", seed=3, settings=None, labels=True):
    data = scenarios.generate(scenario, seed)
    stored = data if labels else dataclasses.replace(data, ground_truths=[])
    with tenant.connect() as conn:
        scenarios.load(conn, name, stored, settings)
    return data


# -- statistics from rows in PostgreSQL -------------------------------------------------------


def test_sketch_ks_matches_scipy_from_rows_sent_through_the_api(api, tenant, engine, settings):
    """Given rows sent through the HTTP API, the stored KS is within 0.01 of scipy's on the raw values."""
    rng = np.random.default_rng(7)
    ref, cur = rng.lognormal(0.0, 0.7, 5000), rng.lognormal(0.15, 0.8, 3000)
    model = {"name": "ks", "task": "regression", "features": [{"name": "amount", "type": "numeric"}]}
    assert api.post("/v1/models", tenant.api_key, json=model).status == 201

    def records(values, prefix, label):
        out = []
        for i, v in enumerate(values):
            rec = {
                "prediction_id": f"{prefix}{i}",
                "features": {"amount": float(v)},
                "prediction": float(v) * 2,
                "timestamp": (DAY + timedelta(seconds=int(i * 86400 / len(values)))).isoformat(),
            }
            if label:
                rec["label"] = float(v) * 2
            out.append(rec)
        return out

    assert api.post("/v1/models/ks/reference", tenant.api_key, json={"records": records(ref, "r", True)}).status == 202
    assert (
        api.post("/v1/models/ks/predictions", tenant.api_key, json={"records": records(cur, "p", False)}).status == 202
    )
    engine.run(tenant.tenant, "ks")

    with tenant.connect() as conn:
        stored = conn.execute(
            "SELECT statistics->>'ks_statistic' FROM drift_results WHERE feature = 'amount' AND granularity = 'day'"
        ).fetchone()
    assert abs(float(stored[0]) - ks_2samp(ref, cur).statistic) <= 0.01

    # and once labels come in, the regression metrics of the window
    labels = [{"prediction_id": f"p{i}", "label": float(v) * 2 + 0.5} for i, v in enumerate(cur)]
    assert api.post("/v1/models/ks/ground-truths", tenant.api_key, json={"records": labels}).status == 202
    engine.run(tenant.tenant, "ks")
    with tenant.connect() as conn:
        metrics, coverage = conn.execute(
            "SELECT metrics, coverage FROM drift_windows WHERE granularity = 'day'"
        ).fetchone()
    assert (metrics["n"], coverage) == (3000, 1.0)
    assert metrics["mae"] == pytest.approx(0.5) and metrics["rmse"] == pytest.approx(0.5)


def test_merged_hourly_sketches_equal_the_daily_sketch(drift_tenant, engine, reader):
    """Given a day of rows, merging its 24 stored hourly sketches gives exactly the day's sketch."""
    from seia.sparse import unpack_sketch
    from seia_drift.stats import NumericSketch, merge_all

    _load(drift_tenant, "merge-day", "stationary", 1)
    engine.run(drift_tenant.tenant, "merge-day")
    mid = reader.model_id("merge-day")
    edges = tuple(
        reader.query("SELECT edges FROM drift_features WHERE model_id = %s AND feature = 'x2'", (mid,))[0]["edges"]
    )
    hourly = [
        NumericSketch.from_dict(unpack_sketch(r["sketch"]), edges)
        for r in reader.query(
            "SELECT sketch FROM drift_sketches WHERE model_id = %s AND feature = 'x2' ORDER BY hour", (mid,)
        )
    ]
    values = [r["v"] for r in reader.query("SELECT num[3] AS v FROM predictions WHERE model_id = %s", (mid,))]
    daily = NumericSketch.from_values([math.nan if v is None else v for v in values], edges)
    merged = merge_all(hourly)
    assert len(hourly) == 24
    assert (merged.counts, merged.missing, merged.min, merged.max) == (
        daily.counts,
        daily.missing,
        daily.min,
        daily.max,
    )
    assert merged.total == pytest.approx(daily.total, rel=1e-12)
    assert merged.m2 == pytest.approx(daily.m2, rel=1e-9)
    day = reader.results("merge-day", "x2")[0]
    assert (day["rows"], day["statistics"]["n_cur"]) == (2000, daily.n)


def test_hourly_windows_add_up_to_the_day(drift_tenant, engine, reader):
    _load(drift_tenant, "by-hour", "stationary", 2, settings={"window": "hour", "min_rows": 50})
    engine.run(drift_tenant.tenant, "by-hour")
    windows = reader.windows("by-hour")
    assert len(windows) == 24 and sum(w["rows"] for w in windows) == 2000
    assert {w["granularity"] for w in windows} == {"hour"}


# -- exactly once -----------------------------------------------------------------------------


def test_a_redelivered_message_changes_nothing(drift_tenant, engine, reader):
    _load(drift_tenant, "redelivered", "concept_drift", 4)
    engine.run(drift_tenant.tenant, "redelivered")
    first = reader.snapshot("redelivered")
    engine.run(drift_tenant.tenant, "redelivered")
    assert reader.snapshot("redelivered") == first
    assert first["incidents"], "the scenario opens incidents"


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("crash_after", ["multivariate_fit", "profile", "labels", "drift", "multivariate", "alerts"])
def test_a_crash_between_steps_then_a_rerun_counts_every_row_once(drift_tenant, databases, engine, reader, crash_after):
    """Given a worker that dies right after step k commits, the next run completes the work and the
    results equal those of a run that never crashed."""
    from seia_drift.engine import DriftEngine
    from seia_drift.steps import DEFAULT_STEPS
    from seia_drift.steps.base import Step

    class Die(Step):
        name = "die"

        def run(self, ctx):
            raise Crash(f"killed after {crash_after}")

    names = [s.name for s in DEFAULT_STEPS]
    crashing = (
        list(DEFAULT_STEPS[: names.index(crash_after) + 1])
        + [Die]
        + list(DEFAULT_STEPS[names.index(crash_after) + 1 :])
    )
    crashed, clean = f"crash-{crash_after}", f"clean-{crash_after}"
    _load(drift_tenant, crashed, "covariate_shift", 5)
    _load(drift_tenant, clean, "covariate_shift", 5)

    with pytest.raises(Crash):
        DriftEngine(databases, crashing).run(drift_tenant.tenant, crashed)
    engine.run(drift_tenant.tenant, crashed)
    engine.run(drift_tenant.tenant, clean)

    assert reader.snapshot(crashed) == reader.snapshot(clean)
    assert (
        sum(
            r["rows"]
            for r in reader.query(
                "SELECT rows FROM drift_sketches s JOIN models m ON m.id = s.model_id WHERE m.name = %s AND feature = 'x0'",
                (crashed,),
            )
        )
        == 2000
    )


def test_a_transaction_that_commits_late_is_counted_once(drift_tenant, engine, reader):
    """Given a write still open while the worker runs, its rows are not lost when it commits later
    (a seq watermark would skip them) and not counted twice."""
    from seia.repositories.records import PredictionRepository

    data = _load(drift_tenant, "late-commit", "stationary", 6)
    mid = reader.model_id("late-commit")
    late = [(f"late{i}",) + row[1:] for i, row in enumerate(data.predictions[:10])]
    with drift_tenant.connect() as slow:
        with slow.transaction():
            PredictionRepository(slow).add(mid, late)
            engine.run(drift_tenant.tenant, "late-commit")
            # a later, faster writer commits meanwhile
            with drift_tenant.connect() as fast, fast.transaction():
                PredictionRepository(fast).add(
                    mid, [(f"fast{i}",) + row[1:] for i, row in enumerate(data.predictions[:5])]
                )
            engine.run(drift_tenant.tenant, "late-commit")
            assert reader.windows("late-commit")[0]["rows"] == 2000
            assert reader.results("late-commit", "__multivariate__")[0]["rows"] == 2000
    engine.run(drift_tenant.tenant, "late-commit")
    engine.run(drift_tenant.tenant, "late-commit")
    assert reader.windows("late-commit")[0]["rows"] == 2015
    # the multivariate step reads new rows by its own watermark, with the same rule
    assert reader.results("late-commit", "__multivariate__")[0]["rows"] == 2015


# -- labels and performance -------------------------------------------------------------------


def test_labels_weeks_late_update_their_old_window(drift_tenant, engine, reader):
    from seia.repositories.records import GroundTruthRepository

    data = _load(drift_tenant, "late-labels", "stationary", 7, labels=False)
    engine.run(drift_tenant.tenant, "late-labels")
    before = reader.windows("late-labels")[0]
    assert (before["labeled"], before["coverage"], before["provisional"]) == (0, 0.0, True)

    with drift_tenant.connect() as conn, conn.transaction():
        GroundTruthRepository(conn).add(reader.model_id("late-labels"), data.ground_truths[:600])
    engine.run(drift_tenant.tenant, "late-labels")
    partly = reader.windows("late-labels")[0]
    assert (partly["labeled"], partly["coverage"], partly["provisional"]) == (600, 0.3, True)

    with drift_tenant.connect() as conn, conn.transaction():
        GroundTruthRepository(conn).add(reader.model_id("late-labels"), data.ground_truths)
    engine.run(drift_tenant.tenant, "late-labels")
    after = reader.windows("late-labels")[0]
    assert (after["labeled"], after["coverage"], after["provisional"]) == (2000, 1.0, False)
    assert 0.6 < after["metrics"]["accuracy"] < 0.8 and after["metrics"]["roc_auc"] > 0.6


def test_a_corrected_label_replaces_the_old_one(drift_tenant, engine, reader):
    from seia.repositories.records import GroundTruthRepository

    data = _load(drift_tenant, "corrected", "stationary", 8)
    engine.run(drift_tenant.tenant, "corrected")
    accuracy = reader.windows("corrected")[0]["metrics"]["accuracy"]
    flipped = [(pid, "yes" if label == "no" else "no", None, None) for pid, label, _, _ in data.ground_truths[:100]]
    with drift_tenant.connect() as conn, conn.transaction():
        GroundTruthRepository(conn).add(reader.model_id("corrected"), flipped)
    engine.run(drift_tenant.tenant, "corrected")
    window = reader.windows("corrected")[0]
    assert window["labeled"] == 2000
    assert window["metrics"]["accuracy"] != accuracy


def test_cause_segments_are_stored_per_hour_and_follow_corrected_labels(drift_tenant, engine, reader):
    """The segments causes merge are stored hourly, count every row once per feature, and a corrected
    label changes its hour's stored errors by exactly the rows it corrected."""
    from seia.repositories.records import GroundTruthRepository

    data = _load(drift_tenant, "segments", "stationary", 10)
    engine.run(drift_tenant.tenant, "segments")
    mid = reader.model_id("segments")

    def totals():
        return {
            r["feature"]: (r["rows"], r["labeled"], r["errors"])
            for r in reader.query(
                """SELECT feature, sum(rows)::int AS rows, sum(labeled)::int AS labeled, sum(err_sum)::int AS errors
                   FROM drift_segments_hourly WHERE model_id = %s GROUP BY feature""",
                (mid,),
            )
        }

    predicted = {r[0]: r[4] for r in data.predictions}
    wrong = sum(predicted[pid] != label for pid, label, _, _ in data.ground_truths)
    assert totals() == {f: (2000, 2000, wrong) for f in scenarios.NUMERIC + tuple(scenarios.CATEGORICAL)}
    hours = reader.query("SELECT count(DISTINCT hour) AS n FROM drift_segments_hourly WHERE model_id = %s", (mid,))
    assert hours[0]["n"] == 24
    reference = reader.query(
        "SELECT sum(rows)::int AS rows FROM drift_segments_reference WHERE model_id = %s AND feature = 'x0'", (mid,)
    )
    assert reference[0]["rows"] == scenarios.REFERENCE_ROWS

    flipped = [(pid, "yes" if label == "no" else "no", None, None) for pid, label, _, _ in data.ground_truths[:100]]
    now_wrong = sum(predicted[pid] != label for pid, label, _, _ in flipped)
    with drift_tenant.connect() as conn, conn.transaction():
        GroundTruthRepository(conn).add(mid, flipped)
    engine.run(drift_tenant.tenant, "segments")
    expected = wrong + now_wrong - (100 - now_wrong)
    assert totals() == {f: (2000, 2000, expected) for f in scenarios.NUMERIC + tuple(scenarios.CATEGORICAL)}


# -- reference --------------------------------------------------------------------------------


def test_without_a_reference_the_first_window_with_enough_rows_becomes_it(drift_tenant, engine, reader):
    data = scenarios.generate("stationary", 9)
    data.reference = []
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "first-window", data, {"reference_min_rows": 1500})
    engine.run(drift_tenant.tenant, "first-window")
    ref = reader.query(
        "SELECT * FROM drift_references r JOIN models m ON m.id = r.model_id WHERE m.name = %s", ("first-window",)
    )[0]
    assert (ref["source"], ref["rows"], ref["window_start"]) == ("first_window", 2000, DAY)
    assert [r["verdict"] for r in reader.results("first-window")] == ["no_drift"] * len(reader.results("first-window"))


def test_a_new_reference_version_rebuilds_bins_and_results(drift_tenant, engine, reader):
    from seia.repositories.records import ReferenceRepository

    data = _load(drift_tenant, "rebuilt", "covariate_shift", 10)
    engine.run(drift_tenant.tenant, "rebuilt")
    assert reader.results("rebuilt", "x1")[0]["verdict"] == "drift"  # seed 10 shifts x1
    # the current rows become the new reference: nothing drifts against them
    new_reference = [row + (label, None) for row, (_, label, _, _) in zip(data.predictions, data.ground_truths)]
    with drift_tenant.connect() as conn, conn.transaction():
        ReferenceRepository(conn).add(reader.model_id("rebuilt"), new_reference, replace=True)
    engine.run(drift_tenant.tenant, "rebuilt")
    ref = reader.query(
        "SELECT r.* FROM drift_references r JOIN models m ON m.id = r.model_id WHERE m.name = %s", ("rebuilt",)
    )[0]
    assert ref["reference_key"] == "uploaded:2"
    assert {r["verdict"] for r in reader.results("rebuilt")} == {"no_drift"}


# -- findings, not crashes --------------------------------------------------------------------


def test_a_feature_suddenly_all_missing_is_a_data_quality_alert(drift_tenant, engine, reader):
    data = scenarios.generate("stationary", 11)
    data.predictions = [(r[0], r[1], r[2][:3] + [None] + r[2][4:]) + r[3:] for r in data.predictions]
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "all-missing", data)
    engine.run(drift_tenant.tenant, "all-missing")
    alerts = [a for a in reader.alerts("all-missing") if a["kind"] == "data_quality"]
    assert [(a["subject"], a["condition"]) for a in alerts] == [("x3", "missing_rate")]
    assert alerts[0]["details"]["last_message"].startswith("Data quality: x3 is missing in 100% of rows")
    assert alerts[0]["summary"].startswith("x3 was missing more often than in the reference in the day of ")
    assert reader.causes(alerts[0]["id"])[0]["sentence"] == "rows with x3 missing went from 0% to 100% of the window"


def test_a_unit_change_is_named_as_such(drift_tenant, engine, reader):
    _load(drift_tenant, "units", "unit_change", 2)
    engine.run(drift_tenant.tenant, "units")
    alert = [a for a in reader.alerts("units") if a["condition"] == "unit_change"][0]
    assert alert["subject"] == "x2" and alert["severity"] == "high"
    assert "about 1000× the reference (a unit change?)" in alert["details"]["last_message"]


def test_too_few_rows_say_so(drift_tenant, engine, reader):
    data = scenarios.generate("covariate_shift", 12)
    data.predictions, data.ground_truths = data.predictions[:40], data.ground_truths[:40]
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "few", data)
    engine.run(drift_tenant.tenant, "few")
    assert reader.windows("few")[0]["status"] == "insufficient_data"
    assert {r["verdict"] for r in reader.results("few")} == {"insufficient_data"}
    assert reader.alerts("few") == []


def test_a_multiclass_model_gets_accuracy_macro_f1_and_prediction_drift(drift_tenant, engine, reader):
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository
    from seia.schema import Feature

    rng = np.random.default_rng(3)
    classes = ("cat", "dog", "fox")

    def rows(n, prefix, skew, with_label):
        out = []
        for i in range(n):
            label = classes[int(rng.choice(3, p=skew))]
            predicted = label if rng.random() < 0.8 else classes[int(rng.integers(3))]
            row = (
                f"{prefix}{i}",
                DAY + timedelta(seconds=i * 40),
                [float(rng.normal())],
                [predicted[0]],
                predicted,
                None,
                None,
                None,
            )
            out.append(row + (label, None) if with_label else (row, label))
        return out

    with drift_tenant.connect() as conn, conn.transaction():
        model = ModelRepository(conn).insert(
            "animals",
            "multiclass_classification",
            [Feature("weight", "numeric"), Feature("initial", "categorical")],
            list(classes),
            {},
        )
        ReferenceRepository(conn).add(model.id, rows(1500, "r", [0.6, 0.3, 0.1], True), replace=False)
        current = rows(1500, "p", [0.2, 0.3, 0.5], False)
        PredictionRepository(conn).add(model.id, [r for r, _ in current])
        GroundTruthRepository(conn).add(model.id, [(r[0], label, None, None) for r, label in current])
    engine.run(drift_tenant.tenant, "animals")
    window = reader.windows("animals")[0]
    assert window["labeled"] == 1500 and 0.75 < window["metrics"]["accuracy"] < 0.95
    assert window["metrics"]["macro_f1"] > 0.7
    kinds = {(a["kind"], a["subject"]) for a in reader.alerts("animals")}
    assert {("prediction_drift", "__prediction__"), ("label_drift", "__label__")} <= kinds
    # the predicted class's initial is a feature: its shift explains all of the predicted-class share's change
    drift = next(a for a in reader.alerts("animals") if a["kind"] == "prediction_drift")
    top = reader.causes(drift["id"])[0]
    assert top["feature"] == "initial" and top["segment"] == "initial = 'f'"
    # a share of rows, in percent (not "went 0.20 → 0.50", nor a mean score)
    assert re.match(r"share of predicted 'fox' went \d{1,3}% → \d{1,3}%; ", top["sentence"]), top["sentence"]
    assert "; the shift of initial explains 100% of the change: rows with initial = 'f' went from " in top["sentence"]
