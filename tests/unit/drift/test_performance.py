"""Performance metrics from mergeable sufficient statistics, against direct numpy computations."""

import json
import math

import numpy as np
import pytest

from seia_drift.stats import (
    BinaryCounts,
    MulticlassCounts,
    RegressionSums,
    binary_metrics,
    merge_all,
    multiclass_metrics,
    regression_metrics,
)
from tests.support.stats_samples import binary_data, frozen


def exact_auc(seed, rounded):
    """The rank AUC of binary_data(seed, rounded=rounded), scipy's, frozen."""
    return frozen()["auc"][f"{seed}/{rounded}"]


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("rounded", [False, True])
def test_binary_metrics_match_direct_computation(seed, rounded):
    y, score = binary_data(seed, rounded=rounded)
    m = binary_metrics(BinaryCounts.from_arrays(y, score))
    pred = score >= 0.5
    tp, fp, fn = np.sum(y & pred), np.sum(~y & pred), np.sum(y & ~pred)
    assert m.n == y.size
    assert m.accuracy == pytest.approx(np.mean(y == pred), abs=1e-15)
    assert m.precision == pytest.approx(tp / (tp + fp), abs=1e-15)
    assert m.recall == pytest.approx(tp / (tp + fn), abs=1e-15)
    assert m.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-15)
    p = np.clip(score, 1e-15, 1 - 1e-15)
    assert m.log_loss == pytest.approx(-np.mean(np.where(y, np.log(p), np.log(1 - p))), rel=1e-12)
    assert abs(m.roc_auc - exact_auc(seed, rounded)) <= min(0.005, m.roc_auc_max_error + 1e-12)


def test_auc_is_exact_when_scores_sit_on_bin_boundaries():
    y, score = binary_data(3, rounded=True)  # scores k/100 are bin edges of the 1000-bin grid
    assert binary_metrics(BinaryCounts.from_arrays(y, score)).roc_auc == pytest.approx(exact_auc(3, True), abs=1e-12)


def test_late_labels_merge_into_the_window():
    # Given an hour scored now and its labels arriving in three late batches
    y, score = binary_data(4, n=3_000)
    batches = [slice(0, 1000), slice(1000, 2500), slice(2500, 3000)]
    merged = merge_all(BinaryCounts.from_arrays(y[s], score[s]) for s in batches)
    whole = BinaryCounts.from_arrays(y, score)
    assert (merged.tp, merged.fp, merged.tn, merged.fn) == (whole.tp, whole.fp, whole.tn, whole.fn)
    assert (merged.positive_hist, merged.negative_hist) == (whole.positive_hist, whole.negative_hist)
    assert merged.log_loss_sum == pytest.approx(whole.log_loss_sum, rel=1e-12)


def test_explicit_predictions_override_the_threshold():
    c = BinaryCounts.from_arrays([1, 0], [0.9, 0.1], y_pred=[0, 1], n_bins=10)
    assert (c.tp, c.fp, c.tn, c.fn) == (0, 1, 0, 1)


def test_undefined_binary_metrics_are_nan():
    m = binary_metrics(BinaryCounts.from_arrays([0, 0], [0.1, 0.2], n_bins=10))
    assert math.isnan(m.precision) and math.isnan(m.recall) and math.isnan(m.roc_auc) and m.accuracy == 1.0


@pytest.mark.parametrize(
    "bad", [dict(y_true=[2], y_score=[0.5]), dict(y_true=[1], y_score=[1.5]), dict(y_true=[1, 0], y_score=[0.5])]
)
def test_binary_counts_reject_bad_input(bad):
    with pytest.raises(ValueError):
        BinaryCounts.from_arrays(**bad)


def test_binary_counts_round_trip_through_json():
    c = BinaryCounts.from_arrays(*binary_data(5, n=200))
    assert BinaryCounts.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_multiclass_metrics_match_direct_computation():
    rng = np.random.default_rng(6)
    labels = ["cat", "dog", "owl", "yak"]
    y = rng.choice(labels[:3], 4_000, p=[0.5, 0.3, 0.2])  # "yak" never occurs nor is predicted
    pred = np.where(rng.random(y.size) < 0.7, y, rng.choice(labels[:3], y.size))
    m = multiclass_metrics(MulticlassCounts.from_arrays(y, pred, labels))
    f1 = []
    for k in labels[:3]:
        tp, fp, fn = np.sum((y == k) & (pred == k)), np.sum((y != k) & (pred == k)), np.sum((y == k) & (pred != k))
        f1.append(2 * tp / (2 * tp + fp + fn))
    assert m.accuracy == pytest.approx(np.mean(y == pred), abs=1e-15)
    assert m.macro_f1 == pytest.approx(np.mean(f1), abs=1e-15)
    assert m.f1[:3] == pytest.approx(f1) and math.isnan(m.f1[3])


def test_multiclass_counts_merge_and_round_trip():
    rng = np.random.default_rng(7)
    y, pred = rng.integers(0, 3, 900), rng.integers(0, 3, 900)
    merged = merge_all(MulticlassCounts.from_arrays(y[i::3], pred[i::3], labels=[0, 1, 2]) for i in range(3))
    assert merged == MulticlassCounts.from_arrays(y, pred, labels=[0, 1, 2])
    assert MulticlassCounts.from_dict(json.loads(json.dumps(merged.to_dict()))) == merged


def test_multiclass_counts_reject_unknown_labels():
    with pytest.raises(ValueError):
        MulticlassCounts.from_arrays(["a", "z"], ["a", "a"], labels=["a", "b"])
    with pytest.raises(ValueError):
        MulticlassCounts(("a", "a"), ((1, 0), (0, 1)))


def test_regression_metrics_match_direct_computation_after_merging():
    rng = np.random.default_rng(8)
    y = rng.normal(50, 10, 6_000)
    pred = y + rng.normal(1, 3, y.size)
    merged = merge_all(
        RegressionSums.from_arrays(a, b) for a, b in zip(np.array_split(y, 24), np.array_split(pred, 24))
    )
    m = regression_metrics(merged)
    e = pred - y
    assert m.n == y.size
    assert m.mae == pytest.approx(np.mean(np.abs(e)), rel=1e-12)
    assert m.rmse == pytest.approx(np.sqrt(np.mean(e**2)), rel=1e-12)
    assert m.r2 == pytest.approx(1 - np.sum(e**2) / np.sum((y - y.mean()) ** 2), rel=1e-9)
    assert RegressionSums.from_dict(json.loads(json.dumps(merged.to_dict()))) == merged


def test_regression_metrics_of_constant_or_empty_targets():
    assert math.isnan(regression_metrics(RegressionSums.from_arrays([2.0, 2.0], [1.0, 3.0])).r2)
    assert math.isnan(regression_metrics(RegressionSums()).mae)
    with pytest.raises(ValueError):
        RegressionSums.from_arrays([1.0, np.nan], [1.0, 2.0])
