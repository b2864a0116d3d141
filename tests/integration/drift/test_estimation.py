"""Estimated performance through the engine: hourly statistics in PostgreSQL, merged windows, incidents.

A binary model whose scores are its true probabilities; its reference is confident (features far
from the boundary). In the window the features move towards the boundary, so the scores move towards
0.5 and the model is expected to be right less often: the estimate sees it before any label.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

REFERENCE_DAY = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW_DAY = datetime(2026, 11, 2, tzinfo=UTC)
LABELS = ("no", "yes")


def _rows(rng, n, start, prefix, spread, truth):
    """(rows, labels): x ~ N(0, spread); score = sigmoid(2x); label from ``truth`` ('model' or 'sign')."""
    x = rng.normal(0.0, spread, n)
    score = 1 / (1 + np.exp(-2 * x))
    y = rng.random(n) < score if truth == "model" else x > 0
    rows, labels = [], []
    for i in range(n):
        ts = start + timedelta(seconds=int(i * 86400 / n))
        rows.append((f"{prefix}{i}", ts, [float(x[i])], [], LABELS[int(score[i] >= 0.5)], None, float(score[i]), None))
        labels.append(LABELS[int(y[i])])
    return rows, labels


def _model(tenant, name, seed, window_truth="model", window_spread=0.3):
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import PredictionRepository, ReferenceRepository
    from seia.schema import Feature

    rng = np.random.default_rng(seed)
    reference, ref_labels = _rows(rng, 3000, REFERENCE_DAY, "r", 2.0, "model")
    window, labels = _rows(rng, 3000, WINDOW_DAY, "p", window_spread, window_truth)
    with tenant.connect() as conn, conn.transaction():
        model = ModelRepository(conn).insert(
            name, "binary_classification", [Feature("x", "numeric")], list(LABELS), {"window": "day"}
        )
        ReferenceRepository(conn).add(
            model.id, [r + (label, None) for r, label in zip(reference, ref_labels, strict=True)], replace=False
        )
        PredictionRepository(conn).add(model.id, window)
    return window, labels


def _label(tenant, reader, name, window, labels):
    from seia.repositories.records import GroundTruthRepository

    with tenant.connect() as conn, conn.transaction():
        GroundTruthRepository(conn).add(
            reader.model_id(name), [(r[0], label, None, None) for r, label in zip(window, labels, strict=True)]
        )


def _estimated_incidents(reader, name):
    return [a for a in reader.alerts(name) if a["kind"] == "performance" and a["condition"].startswith("estimated_")]


def test_merged_hourly_estimates_equal_the_one_shot_estimate_of_the_day(drift_tenant, engine, reader):
    from seia.stats import estimation as core
    from seia_drift import estimation

    window, _ = _model(drift_tenant, "est-merge", 1, window_spread=1.0)
    engine.run(drift_tenant.tenant, "est-merge")
    [day] = reader.windows("est-merge")
    hours = reader.query(
        "SELECT stats FROM drift_performance_hourly WHERE model_id = %s ORDER BY hour", (reader.model_id("est-merge"),)
    )
    assert len(hours) == 24 and all("estimated" in h["stats"] and "kind" not in h["stats"] for h in hours)
    fit = reader.query("SELECT performance FROM drift_references WHERE model_id = %s", (reader.model_id("est-merge"),))[
        0
    ]["performance"]["estimation"]
    scores = np.array([r[6] for r in window])
    predicted = np.array([r[4] for r in window])
    one_shot = core.estimate(estimation.hour_stats(fit, scores, predicted), fit, "binary_classification")
    stored = day["metrics"]["estimated"]
    assert stored["n"] == one_shot["n"] == 3000
    for metric in core.METRICS:
        for key in ("value", "lower", "upper"):
            assert abs(stored[metric][key] - one_shot[metric][key]) < 1e-9, (metric, key)
    # no label yet: the realized metrics are empty, the estimate is not
    assert day["metrics"]["n"] == 0 and day["provisional"]


def test_scores_moving_to_uncertainty_open_an_estimated_incident_that_the_labels_confirm(drift_tenant, engine, reader):
    window, labels = _model(drift_tenant, "est-confirm", 2)
    engine.run(drift_tenant.tenant, "est-confirm")
    [day] = reader.windows("est-confirm")
    estimated = day["metrics"]["estimated"]["accuracy"]
    assert estimated["value"] < 0.7 and estimated["upper"] < 0.85
    [incident] = [i for i in _estimated_incidents(reader, "est-confirm") if i["condition"] == "estimated_accuracy"]
    assert (incident["subject"], incident["status"]) == ("accuracy", "open")
    assert "labels pending" in incident["summary"]

    _label(drift_tenant, reader, "est-confirm", window, labels)
    engine.run(drift_tenant.tenant, "est-confirm")
    [after] = [i for i in _estimated_incidents(reader, "est-confirm") if i["condition"] == "estimated_accuracy"]
    assert (after["id"], after["status"]) == (incident["id"], "open")
    assert "confirmed by labels" in after["summary"]
    [day] = reader.windows("est-confirm")
    realized = day["metrics"]["accuracy"]
    assert estimated["lower"] <= realized <= estimated["upper"]
    # the realized drop is an incident of its own
    assert any(a["condition"] == "accuracy" for a in reader.alerts("est-confirm"))


def test_an_estimated_incident_the_labels_refute_is_resolved(drift_tenant, engine, reader):
    # the model is uncertain, but in truth the sign of x decides: every prediction is right
    window, labels = _model(drift_tenant, "est-refute", 3, window_truth="sign")
    engine.run(drift_tenant.tenant, "est-refute")
    [incident] = [i for i in _estimated_incidents(reader, "est-refute") if i["condition"] == "estimated_accuracy"]
    assert incident["status"] == "open"

    _label(drift_tenant, reader, "est-refute", window, labels)
    engine.run(drift_tenant.tenant, "est-refute")
    [after] = [i for i in _estimated_incidents(reader, "est-refute") if i["condition"] == "estimated_accuracy"]
    assert (after["id"], after["status"], after["resolved_by"]) == (incident["id"], "resolved", "auto")
    assert "refuted" in after["summary"]
    assert reader.windows("est-refute")[0]["metrics"]["accuracy"] == 1.0
    assert not any(a["condition"] == "accuracy" for a in reader.alerts("est-refute"))


def test_a_stationary_window_raises_no_estimated_incident(drift_tenant, engine, reader):
    _model(drift_tenant, "est-quiet", 4, window_spread=2.0)
    engine.run(drift_tenant.tenant, "est-quiet")
    [day] = reader.windows("est-quiet")
    assert "estimated" in day["metrics"]
    assert _estimated_incidents(reader, "est-quiet") == []


def test_a_multiclass_models_hourly_estimates_in_sql_equal_numpys(drift_tenant, engine, reader):
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import PredictionRepository, ReferenceRepository
    from seia.schema import Feature
    from seia.stats import estimation as core
    from seia_drift import estimation

    rng = np.random.default_rng(5)
    classes = ["cat", "dog", "fox"]

    def rows(n, start, prefix, spread, with_label):
        logits = rng.normal(0, spread, (n, 3))
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        # the model is overconfident: its scores are sharpened, so calibration matters
        s = p**2 / (p**2).sum(axis=1, keepdims=True)
        out = []
        for i in range(n):
            label = classes[int(rng.choice(3, p=p[i]))]
            row = (
                f"{prefix}{i}",
                start + timedelta(seconds=int(i * 86400 / n)),
                [float(logits[i, 0])],
                [],
                classes[int(s[i].argmax())],
                None,
                None,
                [round(float(v), 6) for v in s[i]],
            )
            out.append(row + (label, None) if with_label else row)
        return out

    reference = rows(4000, REFERENCE_DAY, "r", 1.5, True)
    window = rows(3000, WINDOW_DAY, "p", 0.7, False)
    with drift_tenant.connect() as conn, conn.transaction():
        model = ModelRepository(conn).insert(
            "est-multi", "multiclass_classification", [Feature("z", "numeric")], classes, {"window": "day"}
        )
        ReferenceRepository(conn).add(model.id, reference, replace=False)
        PredictionRepository(conn).add(model.id, window)
    engine.run(drift_tenant.tenant, "est-multi")
    [day] = reader.windows("est-multi")
    fit = reader.query("SELECT performance FROM drift_references WHERE model_id = %s", (reader.model_id("est-multi"),))[
        0
    ]["performance"]["estimation"]
    assert fit["classes"] == classes and any(fit["calibrated"])
    scores = np.array([r[7] for r in window])
    one_shot = core.estimate(
        estimation.hour_stats(fit, scores, np.array([r[4] for r in window])), fit, "multiclass_classification"
    )
    stored = day["metrics"]["estimated"]
    assert stored["n"] == one_shot["n"] == 3000
    for metric in core.METRICS:
        for key in ("value", "lower", "upper"):
            assert abs(stored[metric][key] - one_shot[metric][key]) < 1e-9, (metric, key)
