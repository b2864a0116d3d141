"""The statistics core (seia.stats) against scipy's frozen values, and the one registry of settings and metrics.

scipy's values are frozen in ``tests/unit/stats_reference_values.json`` by
``tests/support/make_reference_values.py``; nothing here imports scipy.
"""

import math

import numpy as np
import pytest

from seia import model_settings, stats
from seia.errors import ValidationFailed
from seia.registry import NUMERIC, REGISTRY, Metric
from seia_drift.settings import DriftSettings
from seia_drift.stats import fit_edges, sketch_values
from seia_query import openapi
from tests.support.stats_samples import CHI2_DOFS, KSTWO_NS, PVALUE_TOL, frozen


@pytest.mark.parametrize("n", KSTWO_NS)
def test_the_ks_pvalue_follows_scipys_kstwo(n):
    for d, expected in frozen()["kstwo_sf"][str(n)]:
        assert abs(stats.ks_sf(d, n) - expected) <= PVALUE_TOL, d


@pytest.mark.parametrize("dof", CHI2_DOFS)
def test_the_chi2_tail_follows_scipy(dof):
    for x, expected in frozen()["chi2_sf"][str(dof)]:
        assert stats.chi2_sf(x, dof) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("dof", CHI2_DOFS)
def test_the_chi2_quantile_follows_scipy(dof):
    for p, expected in frozen()["chi2_isf"][str(dof)]:
        assert stats.chi2_isf(p, dof) == pytest.approx(expected, rel=1e-9)
        assert stats.chi2_sf(stats.chi2_isf(p, dof), dof) == pytest.approx(p, rel=1e-8)


def test_the_chi2_quantile_refuses_probabilities_outside_0_1():
    for p, dof in ((0.0, 3), (1.0, 3), (0.5, 0)):
        with pytest.raises(ValueError, match="chi2_isf needs"):
            stats.chi2_isf(p, dof)


def test_the_normal_tail_follows_scipy():
    for z, expected in frozen()["norm_sf"]:
        assert stats.normal_sf(z) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_merging_stored_dicts_equals_merging_sketches():
    # Given 24 hourly sketches as the engine stores them (edges once per feature)
    rng = np.random.default_rng(9)
    edges = fit_edges(rng.normal(size=2000), 64)
    hours = [sketch_values(rng.normal(size=int(rng.integers(0, 50))), edges) for _ in range(24)]
    # When the query path merges the stored dicts in one pass
    merged = stats.merge_dicts([h.to_dict(include_edges=False) for h in hours], edges)
    # Then it is the engine's merge of the sketches
    expected = stats.merge_all(hours)
    assert (merged.counts, merged.missing, merged.min, merged.max) == (
        expected.counts,
        expected.missing,
        expected.min,
        expected.max,
    )
    assert merged.mean == pytest.approx(expected.mean, rel=1e-12) and merged.m2 == pytest.approx(expected.m2, rel=1e-12)
    cats = [stats.CategoricalSketch({"a": i, "b": 2}, missing=i % 3) for i in range(24)]
    assert stats.merge_categorical_dicts(c.to_dict() for c in cats) == stats.merge_all(cats)


def test_binary_performance_metrics_after_merging_hours():
    rng = np.random.default_rng(3)
    hours, ys, ss = [], [], []
    for _ in range(5):
        y = rng.integers(0, 2, 300)
        s = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
        counts = stats.BinaryCounts.from_arrays(y, s, n_bins=1000)
        hours.append({"kind": "binary", "scored": counts.to_dict(), "unscored": {"tp": 1, "fp": 2, "tn": 3, "fn": 0}})
        ys.append(y)
        ss.append(s)
    merged = None
    for h in hours:
        merged = stats.performance.merge(merged, h)
    got = stats.performance.metrics(merged)
    y, s = np.concatenate(ys).astype(bool), np.concatenate(ss)
    pred = s >= 0.5
    tp, tn = int(np.sum(y & pred)) + 5, int(np.sum(~y & ~pred)) + 15
    assert got["n"] == y.size + 30 and got["scored"] == y.size
    assert got["accuracy"] == pytest.approx((tp + tn) / (y.size + 30), rel=1e-12)
    p = np.clip(s, 1e-15, 1 - 1e-15)
    assert got["log_loss"] == pytest.approx(-np.mean(np.where(y, np.log(p), np.log(1 - p))), rel=1e-12)


def test_regression_and_multiclass_metrics_after_merging():
    reg = [
        {"kind": "regression", "n": 10, "sum_abs_error": 4.0, "sum_sq_error": 3.0, "sum_y": 20.0, "sum_y_sq": 70.0},
        {"kind": "regression", "n": 5, "sum_abs_error": 1.0, "sum_sq_error": 0.5, "sum_y": 5.0, "sum_y_sq": 9.0},
    ]
    merged = stats.performance.merge(*reg)
    s_yy = 79.0 - 25.0**2 / 15
    assert stats.performance.metrics(merged) == pytest.approx(
        {"n": 15, "mae": 5 / 15, "rmse": math.sqrt(3.5 / 15), "r2": 1 - 3.5 / s_yy}, rel=1e-12
    )
    multi = [
        {"kind": "multiclass", "labels": ["a", "b", "c"], "matrix": [[5, 1, 0], [2, 7, 1], [0, 0, 0]]},
        {"kind": "multiclass", "labels": ["a", "b", "c"], "matrix": [[1, 0, 0], [0, 3, 0], [0, 1, 0]]},
    ]
    got = stats.performance.metrics(stats.performance.merge(*multi))
    f1 = [2 * 6 / (7 + 8), 2 * 10 / (13 + 12), 0.0]
    assert got == pytest.approx({"n": 21, "accuracy": 16 / 21, "macro_f1": sum(f1) / 3}, rel=1e-12)


# -- the registry: one definition of every setting and metric --------------------------------------------------
def test_every_default_comes_from_the_registry():
    t, s = stats.Thresholds(), DriftSettings.from_model({})
    for m in REGISTRY.metrics():
        assert t.threshold(m.name) == m.threshold == REGISTRY.default(f"thresholds.{m.name}")
    assert (t.alpha, t.min_rows, s.window, s.coverage_threshold, s.rmse_rise) == (
        REGISTRY.default("thresholds.alpha"),
        REGISTRY.default("min_rows"),
        REGISTRY.default("window"),
        REGISTRY.default("coverage_threshold"),
        REGISTRY.default("performance_drop.rmse"),
    )
    schema = openapi.document()["components"]["schemas"]
    assert schema["Thresholds"]["properties"]["psi"]["default"] == REGISTRY.default("thresholds.psi")
    assert list(schema["ModelSettings"]["properties"]) == REGISTRY.keys()


@pytest.fixture
def toy_metric():
    """A registered metric: the mean shift in reference standard deviations (numeric features)."""

    def mean_shift(c: stats.Comparison) -> float:
        if not c.comparable or not c.ref.std() > 0:
            return math.nan
        return abs(c.cur.mean - c.ref.mean) / c.ref.std()

    REGISTRY.register_metric(
        Metric("mean_shift", (NUMERIC,), 0.3, mean_shift, "mean shift in reference sds", "Mean shift", maximum=10)
    )
    yield
    REGISTRY.unregister_metric("mean_shift")


def test_a_registered_metric_appears_in_validation_engine_settings_schema_and_verdicts(toy_metric):
    # Validation of PUT /v1/models/{model}/settings knows it, with its range
    assert model_settings.updated({}, {"thresholds": {"mean_shift": 0.5}}) == {"thresholds": {"mean_shift": 0.5}}
    with pytest.raises(ValidationFailed) as refused:
        model_settings.updated({}, {"thresholds": {"mean_shift": 11}})
    assert [d.field for d in refused.value.details] == ["thresholds.mean_shift"]
    # The engine's settings read it, with its default when absent
    assert DriftSettings.from_model({"thresholds": {"mean_shift": 0.5}}).thresholds.mean_shift == 0.5
    assert DriftSettings.from_model({}).thresholds.mean_shift == 0.3
    # The OpenAPI schema (and so the dashboard's form) shows it with its default
    toy = openapi.document()["components"]["schemas"]["Thresholds"]["properties"]["mean_shift"]
    assert (toy["default"], toy["maximum"], toy["exclusiveMinimum"]) == (0.3, 10, 0)
    # And the verdicts judge it: a pure mean shift of 0.5 sd is driven by it under a lenient PSI/JS/W
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, 20_000)
    edges = fit_edges(x)
    d = stats.numeric_drift(sketch_values(x, edges), sketch_values(rng.normal(0.5, 1, 5_000), edges))
    assert d.effects["mean_shift"] == pytest.approx(0.5, abs=0.05)
    lenient = stats.Thresholds(psi=50, js_distance=1, wasserstein_normed=50)
    v = stats.judge_window({"x": d}, lenient)["x"]
    assert (v.verdict, v.driver) == ("drift", "mean_shift")
    assert (
        stats.judge_window({"x": d}, stats.Thresholds(psi=50, js_distance=1, wasserstein_normed=50, mean_shift=1))[
            "x"
        ].verdict
        == "no_drift"
    )


def test_the_documented_defaults_are_the_registered_ones():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "drift.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", text, flags=re.M))
    for m in REGISTRY.metrics():
        assert float(rows[m.name]) == m.threshold, m.name
    assert float(rows["alpha"]) == REGISTRY.default("thresholds.alpha")
    for key in ("min_rows", "coverage_threshold", "reference_min_rows"):
        assert float(rows[key]) == REGISTRY.default(key), key
    assert rows["window"].strip() == f'`"{REGISTRY.default("window")}"`'
