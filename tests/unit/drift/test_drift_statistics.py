"""Drift statistics between a reference and a current window: numeric, categorical, missing values."""

import json
import math

import numpy as np
import pytest

from seia_drift.stats import (
    CategoricalSketch,
    categorical_drift,
    chi2_test,
    coarse_counts,
    fit_edges,
    js_distance,
    merge_all,
    missing_rate,
    missing_rate_change,
    numeric_drift,
    psi,
    sketch_from_dict,
    sketch_values,
    unseen_share,
)
from tests.support.stats_samples import frozen


def sketches(x, y):
    edges = fit_edges(x)
    return sketch_values(x, edges), sketch_values(y, edges)


def test_psi_and_js_match_hand_computed_values():
    assert psi([50, 50], [90, 10]) == pytest.approx(0.4 * math.log(0.9 / 0.5) + 0.4 * math.log(0.5 / 0.1))
    assert js_distance([50, 50], [90, 10]) == pytest.approx(frozen()["jensenshannon"]["50_50_vs_90_10"])
    assert js_distance([3, 0], [0, 7]) == 1.0


def test_psi_uses_epsilon_for_empty_bins():
    assert psi([100, 0], [50, 50], eps=1e-4) == pytest.approx(
        -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    )


@pytest.mark.parametrize("bad", [([], []), ([1, 2], [1]), ([-1, 2], [1, 2]), ([0, 0], [1, 1])])
def test_divergences_reject_bad_counts(bad):
    with pytest.raises(ValueError):
        psi(*bad)
    with pytest.raises(ValueError):
        js_distance(*bad)


def test_coarse_bins_are_reference_deciles():
    rng = np.random.default_rng(0)
    ref, cur = sketches(rng.normal(size=10_000), rng.normal(size=3_000))
    ref_coarse, cur_coarse = coarse_counts(ref, cur)
    assert len(ref_coarse) == 10 and sum(ref_coarse) == 10_000 and sum(cur_coarse) == 3_000
    assert max(abs(c - 1_000) for c in ref_coarse) <= 10_000 / 511 + 1  # one fine bucket


def test_coarse_bins_of_a_binary_feature_are_its_two_values():
    rng = np.random.default_rng(1)
    ref, cur = sketches(rng.integers(0, 2, 1_000).astype(float), rng.integers(0, 2, 500).astype(float))
    ref_coarse, _ = coarse_counts(ref, cur)
    assert len(ref_coarse) == 2


def test_same_distribution_shows_small_effects():
    rng = np.random.default_rng(2)
    d = numeric_drift(*sketches(rng.normal(size=50_000), rng.normal(size=20_000)))
    assert d.wasserstein_normed < 0.03 and d.psi < 0.01 and d.js_distance < 0.05 and d.ks_pvalue > 0.001


def test_shifted_distribution_shows_the_shift():
    rng = np.random.default_rng(3)
    d = numeric_drift(*sketches(rng.normal(0, 2, 50_000), rng.normal(1, 2, 20_000)))
    assert d.wasserstein_normed == pytest.approx(0.5, abs=0.03)
    assert d.mean_cur - d.mean_ref == pytest.approx(1.0, abs=0.05)
    assert d.psi > 0.2 and d.ks_pvalue < 1e-100


def test_unit_change_is_a_huge_effect():
    rng = np.random.default_rng(4)
    x = rng.lognormal(0, 1, 20_000)
    d = numeric_drift(*sketches(x, 1000 * rng.lognormal(0, 1, 5_000)))
    assert d.ks_statistic > 0.99 and d.wasserstein_normed > 100 and d.js_distance > 0.8


def test_data_entirely_above_reference_has_exact_wasserstein():
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, 20_000), rng.normal(10, 1, 5_000)
    d = numeric_drift(*sketches(x, y))
    assert d.wasserstein == pytest.approx(y.mean() - x.mean(), rel=0.002)


def test_constant_reference_normalises_to_infinity():
    ref, cur = sketches(np.ones(200), np.r_[np.ones(100), 2 * np.ones(100)])
    assert numeric_drift(ref, cur).wasserstein_normed == math.inf
    assert numeric_drift(ref, ref).wasserstein_normed == 0.0


def test_empty_current_window_gives_nan_statistics():
    x = np.random.default_rng(6).normal(size=1000)
    ref, cur = sketches(x, [np.nan] * 10)
    d = numeric_drift(ref, cur)
    assert (d.n_cur, d.rows_cur) == (0, 10)
    assert all(math.isnan(v) for v in (d.ks_statistic, d.ks_pvalue, d.wasserstein_normed, d.psi, d.js_distance))
    assert d.missing.rate_cur == 1.0


def test_categorical_sketch_merges_exactly_and_round_trips():
    rng = np.random.default_rng(7)
    day = rng.choice(np.array(["a", "b", "c", None], dtype=object), 24_000, p=[0.5, 0.3, 0.15, 0.05])
    merged = merge_all(CategoricalSketch.from_values(h) for h in np.array_split(day, 24))
    assert merged == CategoricalSketch.from_values(day)
    assert sketch_from_dict(json.loads(json.dumps(merged.to_dict()))) == merged
    assert hash(merged) == hash(CategoricalSketch.from_values(day))


def test_categorical_sketch_rejects_bad_counts():
    with pytest.raises(ValueError):
        CategoricalSketch({"a": -1})
    with pytest.raises(ValueError):
        CategoricalSketch({1: 2})


def test_unseen_share_counts_current_values_of_new_categories():
    ref = CategoricalSketch({"a": 10, "b": 10})
    assert unseen_share(ref, CategoricalSketch({"a": 6, "x": 3, "y": 1})) == 0.4


def test_chi2_is_not_significant_for_reference_proportions():
    ref = CategoricalSketch({"a": 5_000, "b": 3_000, "c": 2_000})
    result = chi2_test(ref, CategoricalSketch({"a": 500, "b": 300, "c": 200}))
    assert (result.statistic, result.pvalue, result.dof, result.pooled) == (
        pytest.approx(0.0, abs=1e-4),
        pytest.approx(1.0, abs=1e-4),
        2,
        0,
    )


def test_chi2_pools_rare_and_unseen_categories():
    # Given a reference with two rare categories and a current window with an unseen one
    ref = CategoricalSketch({"a": 5_000, "b": 4_990, "rare1": 5, "rare2": 5})
    result = chi2_test(ref, CategoricalSketch({"a": 400, "b": 400, "new": 200}))
    # Then rare1, rare2 and new (expected 0.55, 0.55, 0.05) pool, and still short of 5 expected
    # they absorb the next least expected category, b; the unseen mass keeps the test significant
    assert result.pooled == 4 and result.dof == 1 and result.pvalue < 1e-9


def test_chi2_with_a_single_bin_is_not_informative():
    result = chi2_test(CategoricalSketch({"a": 10}), CategoricalSketch({"a": 3}))
    assert (result.statistic, result.pvalue, result.dof) == (0.0, 1.0, 0)


def test_categorical_drift_reports_every_statistic():
    d = categorical_drift(
        CategoricalSketch({"a": 900, "b": 100}, missing=0), CategoricalSketch({"a": 50, "c": 50}, missing=100)
    )
    assert d.unseen_share == 0.5
    # c, unseen in the reference, is expected 0.05 times in 100 rows: it is pooled with b (expected 10),
    # so JS compares (b+c, a) = 10% / 90% with 50% / 50%
    assert d.js_distance == pytest.approx(frozen()["jensenshannon"]["50_50_vs_90_10"])
    assert d.missing.rate_cur == 0.5 and d.missing.change == 0.5


def test_missing_rate_and_its_change():
    ref, cur = CategoricalSketch({"a": 950}, missing=50), CategoricalSketch({"a": 800}, missing=200)
    assert missing_rate(ref) == 0.05
    change = missing_rate_change(ref, cur)
    assert change.change == pytest.approx(0.15) and change.pvalue < 1e-15
    assert missing_rate_change(ref, ref).pvalue == pytest.approx(1.0)
    assert missing_rate_change(CategoricalSketch({"a": 5}), CategoricalSketch({"a": 9})).pvalue == 1.0
    assert math.isnan(missing_rate_change(ref, CategoricalSketch({})).pvalue)
