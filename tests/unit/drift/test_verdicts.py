"""Benjamini–Hochberg and the per-feature verdicts of one window."""

import dataclasses
import math

import numpy as np
import pytest

from seia_drift.stats import (
    CategoricalSketch,
    Thresholds,
    benjamini_hochberg,
    categorical_drift,
    fit_edges,
    judge_window,
    numeric_drift,
    sketch_values,
)
from tests.support.stats_samples import bh_pvalues, frozen


def test_bh_matches_hand_computed_values():
    # m/i * p: 0.008, 0.032, 0.104, 0.082, 0.0672, 0.08, 0.0845714, 0.205, then running minimum from the right
    # p sorted: 0.01, 0.02, 0.03, 0.04, 0.05 (m = 5): m/i * p = 0.05 each
    assert benjamini_hochberg([0.05, 0.01, 0.03, 0.02, 0.04]) == pytest.approx((0.05,) * 5)
    assert benjamini_hochberg([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]) == pytest.approx(
        (0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.0845714286, 0.205)
    )


def test_bh_matches_scipy():
    p = bh_pvalues()
    assert np.allclose(benjamini_hochberg(p), frozen()["bh_beta"], rtol=1e-12)


def test_bh_leaves_nan_out_of_the_family():
    q = benjamini_hochberg([0.01, math.nan, 0.04])
    assert q[0] == pytest.approx(0.02) and math.isnan(q[1]) and q[2] == pytest.approx(0.04)
    assert benjamini_hochberg([]) == ()


def test_bh_rejects_invalid_pvalues():
    with pytest.raises(ValueError):
        benjamini_hochberg([0.5, 1.5])


@pytest.mark.parametrize(
    "bad",
    [
        dict(psi=0),
        dict(js_distance=1.5),
        dict(alpha=1.0),
        dict(min_rows=0),
        dict(min_rows=2.5),
        dict(medium_factor=5.0),
        dict(high_factor=1.5),
        dict(unseen_share=float("nan")),
        dict(psi="0.2"),
    ],
)
def test_thresholds_reject_bad_values(bad):
    with pytest.raises(ValueError):
        Thresholds(**bad)


def test_thresholds_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Thresholds().psi = 1.0


def numeric(x, y):
    edges = fit_edges(x)
    return numeric_drift(sketch_values(x, edges), sketch_values(y, edges))


@pytest.fixture
def window():
    rng = np.random.default_rng(42)
    reference = rng.normal(0, 1, 20_000)
    ref_cat = CategoricalSketch({"a": 6_000, "b": 3_000, "c": 1_000})
    with_missing = rng.normal(0, 1, 10_000)
    with_missing[:700] = np.nan
    return {
        "stable": numeric(reference, rng.normal(0, 1, 10_000)),
        "tiny_shift": numeric(reference, rng.normal(0.08, 1, 10_000)),  # significant at this n, but negligible
        "shifted": numeric(reference, rng.normal(0.15, 1, 10_000)),
        "moved_far": numeric(reference, rng.normal(3, 1, 10_000)),
        "few_rows": numeric(reference, rng.normal(3, 1, 50)),
        "going_missing": numeric(reference, with_missing),
        "new_categories": categorical_drift(ref_cat, CategoricalSketch({"a": 540, "b": 270, "c": 90, "zz": 100})),
        "stable_category": categorical_drift(ref_cat, CategoricalSketch({"a": 600, "b": 300, "c": 100})),
    }


def test_verdicts_call_drift_on_effect_size_and_fdr(window):
    verdicts = judge_window(window)
    assert list(verdicts) == list(window)
    summary = {name: (v.verdict, v.severity, v.signals, v.driver) for name, v in verdicts.items()}
    assert summary == {
        "stable": ("no_drift", None, (), summary["stable"][3]),
        "tiny_shift": ("no_drift", None, (), summary["tiny_shift"][3]),
        "shifted": ("drift", "low", ("distribution",), "wasserstein_normed"),
        "moved_far": ("drift", "high", ("distribution",), "psi"),
        "few_rows": ("insufficient_data", None, (), None),
        "going_missing": ("drift", "low", ("missing_rate",), "missing_rate_increase"),
        # the new category is pooled with the rarest (JS and PSI see 10% -> 19%); its share is the driver
        "new_categories": ("drift", "medium", ("distribution",), "unseen_share"),
        "stable_category": ("no_drift", None, (), summary["stable_category"][3]),
    }


def test_tiny_shift_is_significant_but_below_the_effect_threshold(window):
    verdict = judge_window(window)["tiny_shift"]
    assert verdict.distribution_qvalue < 0.05 and verdict.effect_ratio < 1


def test_min_rows_setting_decides_insufficient_data(window):
    verdicts = judge_window(window, Thresholds(min_rows=20_000))
    assert {v.verdict for v in verdicts.values()} == {"insufficient_data"}
    assert judge_window(window, Thresholds(min_rows=10))["few_rows"].verdict == "drift"


def test_large_effect_on_few_rows_needs_a_significant_test():
    ref = CategoricalSketch({"a": 5_000, "b": 5_000})
    drift = categorical_drift(ref, CategoricalSketch({"a": 8, "b": 2}))
    verdict = judge_window({"f": drift}, Thresholds(min_rows=5))["f"]
    # JS 0.27 is 2.7 times its threshold, but at 10 rows chance alone reaches 0.66: neither it nor the test says drift
    assert drift.js_distance > 2.5 * Thresholds().js_distance
    assert drift.chance["js_distance"] > 2 * drift.js_distance
    assert verdict.distribution_qvalue > 0.05 and verdict.effect_ratio < 1 and verdict.verdict == "no_drift"


def test_severity_tiers_follow_the_factors(window):
    strict = Thresholds(wasserstein_normed=0.05, js_distance=0.05, psi=0.05)
    assert judge_window(window, strict)["shifted"].severity == "medium"


def test_judge_window_rejects_unknown_statistics():
    with pytest.raises(ValueError):
        judge_window({"f": 0.3})
