"""Estimated performance: the isotonic calibration, the mergeable statistics and the estimate itself."""

from __future__ import annotations

import numpy as np
import pytest

from seia.stats import estimation as core
from seia_drift import estimation

POSITIVE = "1"


def _binary(seed: int, n: int, power: float = 1.0, spread: float = 1.5):
    """Rows whose true probability is sigmoid(x); the model's score is that probability ** power."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(0.0, spread, n)))
    y = np.where(rng.random(n) < p, "1", "0")
    score = p**power
    predicted = np.where(score >= 0.5, "1", "0")
    return score, predicted, y


def test_the_isotonic_fit_is_monotone_and_each_plateau_is_the_mean_of_its_labels():
    rng = np.random.default_rng(1)
    s = rng.random(2000)
    y = (rng.random(2000) < s**2).astype(int)
    fit = estimation.isotonic_fit(s, y)
    values = estimation.calibrate(np.sort(s), fit)
    assert np.all(np.diff(values) >= 0)
    assert np.all(np.diff(fit["x"]) > 0)
    # pooling: the fitted values over the rows sum to the labels (least squares on 0/1)
    assert estimation.calibrate(s, fit).sum() == pytest.approx(y.sum(), abs=1e-6)


def test_pool_adjacent_violators_pools_a_decreasing_run():
    fit = estimation.isotonic_fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 0, 0, 1]))
    assert fit["x"] == [0.1, 0.3, 0.4]
    assert fit["y"] == pytest.approx([1 / 3, 1 / 3, 1.0])
    # ties are pooled before anything else; outside the fitted range the ends hold
    assert estimation.calibrate(np.array([0.0, 0.35, 1.0]), fit) == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_miscalibrated_scores_are_estimated_right_only_after_calibration():
    # the model ranks perfectly well but its scores are the true probability cubed: far too low
    ref_s, ref_p, ref_y = _binary(1, 20_000, power=3.0)
    cur_s, cur_p, cur_y = _binary(2, 20_000, power=3.0, spread=0.8)
    fit = estimation.fit_reference("binary_classification", [POSITIVE], ref_s, ref_p, ref_y)
    assert fit["calibrated"] == [True]
    realized = float(np.mean(cur_p == cur_y))

    estimate = core.estimate(estimation.hour_stats(fit, cur_s, cur_p), fit, "binary_classification")
    naive_fit = fit | {"calibration": [estimation.IDENTITY]}
    naive = core.estimate(estimation.hour_stats(naive_fit, cur_s, cur_p), fit, "binary_classification")
    assert estimate is not None and naive is not None
    assert abs(estimate["accuracy"]["value"] - realized) < 0.01
    assert estimate["accuracy"]["lower"] <= realized <= estimate["accuracy"]["upper"]
    assert abs(naive["accuracy"]["value"] - realized) > 0.05


def test_scores_that_rank_perfectly_or_one_class_need_no_calibration():
    s = np.linspace(0, 1, 1000)
    assert not estimation.needs_calibration(s, (s > 0.7).astype(int))
    assert not estimation.needs_calibration(s, np.zeros(1000, dtype=int))
    assert estimation.needs_calibration(s, (np.random.default_rng(3).random(1000) < s**4).astype(int))


def test_merged_parts_give_the_estimate_of_all_rows():
    ref_s, ref_p, ref_y = _binary(4, 5_000, power=2.0)
    cur_s, cur_p, _ = _binary(5, 6_000, power=2.0)
    fit = estimation.fit_reference("binary_classification", [POSITIVE], ref_s, ref_p, ref_y)
    parts = [estimation.hour_stats(fit, cur_s[i], cur_p[i]) for i in np.array_split(np.arange(6_000), 24)]
    merged = core.merge_many(parts)
    whole = estimation.hour_stats(fit, cur_s, cur_p)
    assert merged is not None and merged["n"] == whole["n"] == 6_000
    assert merged["classes"][0]["counts"] == whole["classes"][0]["counts"]
    a, b = core.estimate(merged, fit, "binary_classification"), core.estimate(whole, fit, "binary_classification")
    assert a is not None and b is not None
    for metric in core.METRICS:
        assert a[metric]["value"] == pytest.approx(b[metric]["value"], abs=1e-12)


def test_multiclass_estimates_follow_the_calibrated_normalised_probabilities():
    rng = np.random.default_rng(6)
    labels = ["a", "b", "c"]

    def rows(n):
        logits = rng.normal(0, 1.5, (n, 3))
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = np.array([labels[rng.choice(3, p=row)] for row in p])
        return p, np.array([labels[i] for i in p.argmax(axis=1)]), y

    ref = rows(9_000)
    cur_s, cur_p, cur_y = rows(9_000)
    fit = estimation.fit_reference("multiclass_classification", labels, *ref)
    estimate = core.estimate(estimation.hour_stats(fit, cur_s, cur_p), fit, "multiclass_classification")
    assert estimate is not None
    realized = float(np.mean(cur_p == cur_y))
    assert abs(estimate["accuracy"]["value"] - realized) < 0.02
    # NannyML's multiclass sampling error: sqrt(sum of class variances) / k, times 1.2 for ROC AUC
    pairs = fit["components"]["roc_auc"]["pairs"]
    expected = 1.2 * np.sqrt(sum(v / (9_000 * f) for v, f in pairs)) / 3
    assert estimate["roc_auc"]["sampling_error"] == pytest.approx(expected, rel=1e-9)


def test_the_band_is_three_sampling_errors_clipped_to_zero_and_one():
    stats = {
        "n": 100,
        "classes": [{"pred": 100, "tp": 99.0, "fn": 0.0, "size": 2, "bins": [1], "counts": [100], "expected": [99.0]}],
    }
    reference = {"components": {"accuracy": {"pairs": [[0.09, 1.0]], "factor": 1.0}}}
    e = core.estimate(stats, reference, "binary_classification")
    assert e is not None
    assert e["accuracy"] == {"value": 0.99, "sampling_error": 0.03, "lower": 0.9, "upper": 1.0}
    # one bin holds every row: no negative is ranked below a positive, AUC is a tie
    assert e["roc_auc"]["value"] == 0.5 and e["roc_auc"]["sampling_error"] is None


def test_statistics_over_other_classes_or_bins_do_not_merge():
    one = {
        "n": 1,
        "classes": [{"pred": 1, "tp": 1.0, "fn": 0.0, "size": 2, "bins": [0], "counts": [1], "expected": [1.0]}],
    }
    other = {"n": 1, "classes": [dict(one["classes"][0], size=4)]}
    with pytest.raises(ValueError, match="same score bins"):
        core.merge(one, other)
    with pytest.raises(ValueError, match="same classes"):
        core.merge(one, {"n": 1, "classes": one["classes"] * 2})
