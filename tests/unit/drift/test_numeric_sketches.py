"""Numeric sketches: bucket convention, KS guarantee, exact merging, JSON round trip."""

import json

import numpy as np
import pytest
import scipy.stats

from seia_drift.stats import (
    NumericSketch,
    bucketize,
    fit_edges,
    ks_test,
    merge_all,
    sketch_from_dict,
    wasserstein_distance,
)

SIZES = [(20_000, 5_000), (3_000, 20_000), (50_000, 800)]


def samples(shape, rng, n, m):
    if shape == "normal":
        return rng.normal(0, 1, n), rng.normal(0, 1, m)
    if shape == "shifted_normal":
        return rng.normal(0, 1, n), rng.normal(0.3, 1.2, m)
    if shape == "lognormal":
        return rng.lognormal(0, 1.5, n), rng.lognormal(0.2, 1.5, m)
    if shape == "bimodal":
        return (
            np.r_[rng.normal(-2, 0.5, n // 2), rng.normal(2, 0.5, n - n // 2)],
            np.r_[rng.normal(-2, 0.5, m // 3), rng.normal(2, 0.5, m - m // 3)],
        )
    if shape == "integers":
        return rng.poisson(3, n).astype(float), rng.poisson(3.4, m).astype(float)
    if shape == "integers_then_floats":
        return rng.poisson(3, n).astype(float), rng.uniform(0, 8, m)
    if shape == "rounded":
        return np.round(rng.normal(0, 1, n), 1), rng.normal(0, 1, m)
    if shape == "unit_change_x1000":
        return rng.lognormal(0, 1, n), 1000 * rng.lognormal(0, 1, m)
    if shape == "above_reference":
        return rng.normal(0, 1, n), rng.normal(10, 1, m)
    if shape == "below_reference":
        return rng.normal(0, 1, n), rng.normal(-10, 1, m)
    if shape == "collapsed":
        return rng.normal(0, 1, n), rng.normal(0.1, 0.001, m)
    raise AssertionError(shape)


SHAPES = [
    "normal",
    "shifted_normal",
    "lognormal",
    "bimodal",
    "integers",
    "integers_then_floats",
    "rounded",
    "unit_change_x1000",
    "above_reference",
    "below_reference",
    "collapsed",
]


def test_buckets_follow_postgres_width_bucket():
    # Given edges [1, 2, 3], width_bucket puts x < 1 in 0, 1 <= x < 2 in 1, ..., x >= 3 in 3
    edges = (1.0, 2.0, 3.0)
    assert bucketize([-5, 0.999, 1, 1.5, 2, 2.999, 3, 1e9], edges).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_edges_isolate_reference_atoms():
    edges = fit_edges([0, 0, 0, 1, 1, 2], n_quantiles=8)
    assert edges == (0.0, np.nextafter(0.0, 1.0), 1.0, np.nextafter(1.0, 2.0), 2.0)


def test_edges_reject_bad_parameters():
    with pytest.raises(ValueError):
        fit_edges([1.0, 2.0], n_quantiles=1)
    with pytest.raises(ValueError):
        fit_edges([np.nan, np.inf])


def test_edges_size_is_bounded():
    edges = fit_edges(np.random.default_rng(0).normal(size=100_000))
    assert 512 <= len(edges) <= 1024


@pytest.mark.parametrize("shape", SHAPES)
def test_sketch_ks_is_within_0_01_of_exact_ks(shape):
    # Given seeded samples of many shapes and sizes, edges fitted on the reference sample
    worst = 0.0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        for n, m in SIZES:
            x, y = samples(shape, rng, n, m)
            edges = fit_edges(x)
            # When KS is read from the two sketches
            d = ks_test(NumericSketch.from_values(x, edges), NumericSketch.from_values(y, edges)).statistic
            exact = scipy.stats.ks_2samp(x, y).statistic
            # Then it is a lower bound of the exact statistic, at most 0.01 below it
            assert d <= exact + 1e-12
            worst = max(worst, exact - d)
    assert worst <= 0.0025  # measured worst over these seeds: 0.0020 (fine bins of ~1/511 reference mass)


def test_ks_guarantee_holds_with_edges_from_another_reference_sample():
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        edges = fit_edges(rng.normal(0, 1, 10_000))
        x, y = rng.normal(0, 1, 20_000), rng.normal(0.2, 1.1, 5_000)
        d = ks_test(NumericSketch.from_values(x, edges), NumericSketch.from_values(y, edges)).statistic
        assert abs(d - scipy.stats.ks_2samp(x, y).statistic) <= 0.01


def test_data_entirely_outside_the_reference_gives_ks_of_one():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 5_000)
    edges = fit_edges(x)
    result = ks_test(NumericSketch.from_values(x, edges), NumericSketch.from_values(x + 100, edges))
    assert result.statistic == pytest.approx(1.0, abs=1 / 5_000)
    assert result.pvalue < 1e-100


def test_ks_pvalue_matches_scipy_asymptotic_when_the_sketch_is_exact():
    rng = np.random.default_rng(3)
    x, y = rng.poisson(3, 4_000).astype(float), rng.poisson(3.1, 3_000).astype(float)
    edges = fit_edges(x)
    result = ks_test(NumericSketch.from_values(x, edges), NumericSketch.from_values(y, edges))
    expected = scipy.stats.ks_2samp(x, y, method="asymp")
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.pvalue == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize(
    "shape", ["normal", "bimodal", "integers", "rounded", "above_reference", "below_reference", "collapsed"]
)
def test_wasserstein_is_close_to_exact_for_light_tails(shape):
    for seed in range(4):
        rng = np.random.default_rng(seed)
        for n, m in SIZES:
            x, y = samples(shape, rng, n, m)
            edges = fit_edges(x)
            w = wasserstein_distance(NumericSketch.from_values(x, edges), NumericSketch.from_values(y, edges))
            assert abs(w - scipy.stats.wasserstein_distance(x, y)) / x.std() <= 0.01


def test_wasserstein_on_heavy_tails_is_close_to_exact():
    for seed in range(4):
        rng = np.random.default_rng(seed)
        for n, m in SIZES:
            x, y = samples("lognormal", rng, n, m)
            edges = fit_edges(x)
            w = wasserstein_distance(NumericSketch.from_values(x, edges), NumericSketch.from_values(y, edges))
            assert abs(w - scipy.stats.wasserstein_distance(x, y)) / x.std() <= 0.05


def test_sketch_counts_missing_and_non_finite_values():
    s = NumericSketch.from_values([1.0, np.nan, np.inf, -np.inf, None, 3.0], edges=(2.0,))
    assert (s.counts, s.n, s.missing, s.rows, s.min, s.max) == ((1, 1), 2, 4, 6, 1.0, 3.0)


def test_sketch_of_no_value_is_empty():
    s = NumericSketch.from_values([np.nan], edges=(0.0,))
    assert s == NumericSketch(edges=(0.0,), counts=(0, 0), missing=1)
    assert np.isnan(s.mean()) and np.isnan(s.std())


def test_mean_and_std_match_numpy():
    x = np.random.default_rng(1).normal(5, 2, 1000)
    s = NumericSketch.from_values(x, fit_edges(x))
    assert s.mean() == pytest.approx(x.mean(), rel=1e-12)
    assert s.std() == pytest.approx(x.std(ddof=1), rel=1e-9)


def test_merging_24_hours_gives_exactly_the_day():
    # Given a day of dyadic values (sums exact in floating point) cut into 24 hours
    rng = np.random.default_rng(11)
    day = rng.integers(-4000, 4000, 24_000) / 8.0
    day[rng.random(day.size) < 0.05] = np.nan
    edges = fit_edges(rng.integers(-3000, 3000, 10_000) / 8.0)
    hours = np.array_split(day, 24)
    # When the hourly sketches are merged
    merged = merge_all(NumericSketch.from_values(h, edges) for h in hours)
    # Then the merged sketch equals the day's sketch field for field
    assert merged == NumericSketch.from_values(day, edges)


def test_merging_continuous_hours_matches_day_with_float_tolerance():
    rng = np.random.default_rng(12)
    day = rng.lognormal(0, 1, 24_000)
    edges = fit_edges(rng.lognormal(0, 1, 5_000))
    merged = merge_all(NumericSketch.from_values(h, edges) for h in np.array_split(day, 24))
    whole = NumericSketch.from_values(day, edges)
    assert (merged.counts, merged.missing, merged.min, merged.max) == (
        whole.counts,
        whole.missing,
        whole.min,
        whole.max,
    )
    assert merged.total == pytest.approx(whole.total, rel=1e-12)
    assert merged.total_sq == pytest.approx(whole.total_sq, rel=1e-12)


def test_merging_is_deterministic():
    rng = np.random.default_rng(13)
    hours = [rng.normal(size=100) for _ in range(24)]
    edges = fit_edges(np.concatenate(hours))
    first = merge_all(NumericSketch.from_values(h, edges) for h in hours)
    second = merge_all(NumericSketch.from_values(h, edges) for h in hours)
    assert first == second


def test_merge_refuses_other_edges():
    with pytest.raises(ValueError):
        NumericSketch.empty((0.0,)).merge(NumericSketch.empty((1.0,)))


def test_sketch_round_trips_through_json():
    x = np.random.default_rng(2).normal(size=500)
    s = NumericSketch.from_values(np.r_[x, np.nan], fit_edges(x, n_quantiles=64))
    assert sketch_from_dict(json.loads(json.dumps(s.to_dict()))) == s
    stored = json.loads(json.dumps(s.to_dict(include_edges=False)))
    assert NumericSketch.from_dict(stored, edges=s.edges) == s
    empty = NumericSketch.empty(s.edges)
    assert sketch_from_dict(json.loads(json.dumps(empty.to_dict()))) == empty


@pytest.mark.parametrize(
    "fields",
    [
        dict(edges=(), counts=(0,)),
        dict(edges=(2.0, 1.0), counts=(0, 0, 0)),
        dict(edges=(1.0,), counts=(0, 0, 0)),
        dict(edges=(1.0,), counts=(-1, 1), min=0.0, max=2.0),
        dict(edges=(1.0,), counts=(1, 0)),
        dict(edges=(1.0,), counts=(0, 0), min=0.0, max=0.0),
    ],
)
def test_inconsistent_sketch_is_rejected(fields):
    with pytest.raises(ValueError):
        NumericSketch(**fields)
