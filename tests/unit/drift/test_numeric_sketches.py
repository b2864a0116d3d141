"""Numeric sketches: bucket convention, KS guarantee, exact merging, moments, JSON round trip.

Exact statistics on the raw samples are scipy's, frozen in ``tests/unit/stats_reference_values.json``
(``tests/support/make_reference_values.py``): no scipy call at test time.
"""

import json
import math

import numpy as np
import pytest

from seia_drift.stats import (
    NumericSketch,
    bucketize,
    fit_edges,
    ks_test,
    merge_all,
    merge_dicts,
    sketch_from_dict,
    sketch_values,
    wasserstein_distance,
)
from tests.support.stats_samples import (
    KS_SEEDS,
    LIGHT_TAILS,
    OTHER_REFERENCE_SEEDS,
    PVALUE_TOL,
    SHAPES,
    WASSERSTEIN_SEEDS,
    frozen,
    other_reference,
    poisson_pair,
    sample_runs,
)


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
    for key, x, y in sample_runs([shape], KS_SEEDS):
        edges = fit_edges(x)
        # When KS is read from the two sketches
        d = ks_test(sketch_values(x, edges), sketch_values(y, edges)).statistic
        exact = frozen()["ks_2samp"][key]
        # Then it is a lower bound of the exact statistic, at most 0.01 below it
        assert d <= exact + 1e-12
        worst = max(worst, exact - d)
    assert worst <= 0.0025  # measured worst over these seeds: 0.0020 (fine bins of ~1/511 reference mass)


def test_ks_guarantee_holds_with_edges_from_another_reference_sample():
    for seed in OTHER_REFERENCE_SEEDS:
        reference, x, y = other_reference(seed)
        edges = fit_edges(reference)
        d = ks_test(sketch_values(x, edges), sketch_values(y, edges)).statistic
        assert abs(d - frozen()["ks_other_reference"][seed]) <= 0.01


def test_data_entirely_outside_the_reference_gives_ks_of_one():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 5_000)
    edges = fit_edges(x)
    result = ks_test(sketch_values(x, edges), sketch_values(x + 100, edges))
    assert result.statistic == pytest.approx(1.0, abs=1 / 5_000)
    assert result.pvalue < 1e-100


def test_ks_pvalue_matches_scipy_asymptotic_when_the_sketch_is_exact():
    x, y = poisson_pair()
    edges = fit_edges(x)
    result = ks_test(sketch_values(x, edges), sketch_values(y, edges))
    expected = frozen()["ks_asymp_poisson"]
    assert result.statistic == pytest.approx(expected["statistic"], abs=1e-12)
    # p-values: within the documented error of the pure-Python Smirnov tail (seia.stats.special)
    assert result.pvalue == pytest.approx(expected["pvalue"], abs=PVALUE_TOL)


@pytest.mark.parametrize("shape", LIGHT_TAILS)
def test_wasserstein_is_close_to_exact_for_light_tails(shape):
    for key, x, y in sample_runs([shape], WASSERSTEIN_SEEDS):
        edges = fit_edges(x)
        w = wasserstein_distance(sketch_values(x, edges), sketch_values(y, edges))
        assert abs(w - frozen()["wasserstein"][key]) / x.std() <= 0.01


def test_wasserstein_on_heavy_tails_is_close_to_exact():
    for key, x, y in sample_runs(["lognormal"], WASSERSTEIN_SEEDS):
        edges = fit_edges(x)
        w = wasserstein_distance(sketch_values(x, edges), sketch_values(y, edges))
        assert abs(w - frozen()["wasserstein"][key]) / x.std() <= 0.05


@pytest.mark.parametrize("build", [NumericSketch.from_values, sketch_values])
def test_sketch_counts_missing_and_non_finite_values(build):
    s = build([1.0, np.nan, np.inf, -np.inf, None, 3.0], edges=(2.0,))
    assert (s.counts, s.n, s.missing, s.rows, s.min, s.max) == ((1, 1), 2, 4, 6, 1.0, 3.0)


@pytest.mark.parametrize("build", [NumericSketch.from_values, sketch_values])
def test_sketch_of_no_value_is_empty(build):
    s = build([np.nan], edges=(0.0,))
    assert s == NumericSketch(edges=(0.0,), counts=(0, 0), missing=1)
    assert np.isnan(s.mean_or_nan()) and np.isnan(s.std())


def test_mean_and_std_match_numpy():
    x = np.random.default_rng(1).normal(5, 2, 1000)
    for s in (NumericSketch.from_values(x, fit_edges(x)), sketch_values(x, fit_edges(x))):
        assert s.mean == pytest.approx(x.mean(), rel=1e-12)
        assert s.std() == pytest.approx(x.std(ddof=1), rel=1e-12)


def test_pure_python_and_numpy_sketches_agree():
    x = np.random.default_rng(8).lognormal(0, 2, 3000)
    edges = fit_edges(x[:1000], n_quantiles=64)
    a, b = NumericSketch.from_values(x, edges), sketch_values(x, edges)
    assert (a.counts, a.missing, a.min, a.max) == (b.counts, b.missing, b.min, b.max)
    assert a.mean == pytest.approx(b.mean, rel=1e-13) and a.m2 == pytest.approx(b.m2, rel=1e-12)


def test_std_of_a_large_mean_merged_from_hours_keeps_every_digit():
    # Given a feature with mean 1e8 and standard deviation 1, sketched per hour and merged over a day
    rng = np.random.default_rng(21)
    day = 1e8 + rng.normal(0, 1, 24 * 500)
    edges = fit_edges(day[:2000], n_quantiles=64)
    merged = merge_all(sketch_values(h, edges) for h in np.array_split(day, 24))
    # Then the day's standard deviation is the data's to a relative error below 1e-6 (sum and sum of
    # squares gave 1.62 here: the squares of 1e8 leave no digit for a spread of 1)
    assert merged.std() == pytest.approx(day.std(ddof=1), rel=1e-6)
    assert merged.std() == pytest.approx(1.0, abs=0.02)
    assert merged.mean == pytest.approx(day.mean(), rel=1e-15)
    # And so it does after a round trip through the stored JSON, merged by the query path
    stored = [
        json.loads(json.dumps(sketch_values(h, edges).to_dict(include_edges=False))) for h in np.array_split(day, 24)
    ]
    assert merge_dicts(stored, edges).std() == pytest.approx(day.std(ddof=1), rel=1e-6)


def test_sketches_stored_with_sums_still_load():
    # Given an hourly sketch stored before the moments were kept as (n, mean, M2)
    x = np.array([1.0, 2.0, 4.0, 8.0, np.nan])
    legacy = {
        "kind": "numeric",
        "counts": [1, 1, 2],
        "missing": 1,
        "total": 15.0,
        "total_sq": 85.0,
        "min": 1.0,
        "max": 8.0,
    }
    s = NumericSketch.from_dict(legacy, edges=(1.5, 3.0))
    # Then it reads as the same sketch with its moments converted
    expected = sketch_values(x, (1.5, 3.0))
    assert (s.counts, s.missing, s.min, s.max) == (expected.counts, expected.missing, expected.min, expected.max)
    assert s.mean == pytest.approx(3.75) and s.std() == pytest.approx(np.std(x[:4], ddof=1), rel=1e-12)
    # And it merges with a sketch in the current format
    merged = merge_dicts([legacy, expected.to_dict(include_edges=False)], (1.5, 3.0))
    assert merged.n == 8 and merged.std() == pytest.approx(np.std(np.r_[x[:4], x[:4]], ddof=1), rel=1e-12)


def test_merging_24_hours_gives_exactly_the_day():
    # Given a day of dyadic values (sums exact in floating point) cut into 24 hours
    rng = np.random.default_rng(11)
    day = rng.integers(-4000, 4000, 24_000) / 8.0
    day[rng.random(day.size) < 0.05] = np.nan
    edges = fit_edges(rng.integers(-3000, 3000, 10_000) / 8.0)
    hours = np.array_split(day, 24)
    # When the hourly sketches are merged
    merged = merge_all(sketch_values(h, edges) for h in hours)
    # Then the merged sketch equals the day's sketch: counts and extremes exactly, and the moments
    # (Chan's formula rounds differently from one pass over the day) to the last few digits
    whole = sketch_values(day, edges)
    assert (merged.counts, merged.missing, merged.min, merged.max) == (
        whole.counts,
        whole.missing,
        whole.min,
        whole.max,
    )
    assert merged.mean == pytest.approx(whole.mean, rel=1e-14, abs=1e-12)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-12)


def test_merging_continuous_hours_matches_day_with_float_tolerance():
    rng = np.random.default_rng(12)
    day = rng.lognormal(0, 1, 24_000)
    edges = fit_edges(rng.lognormal(0, 1, 5_000))
    merged = merge_all(sketch_values(h, edges) for h in np.array_split(day, 24))
    whole = sketch_values(day, edges)
    assert (merged.counts, merged.missing, merged.min, merged.max) == (
        whole.counts,
        whole.missing,
        whole.min,
        whole.max,
    )
    assert merged.mean == pytest.approx(whole.mean, rel=1e-12)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-12)


def test_merging_is_deterministic():
    rng = np.random.default_rng(13)
    hours = [rng.normal(size=100) for _ in range(24)]
    edges = fit_edges(np.concatenate(hours))
    first = merge_all(sketch_values(h, edges) for h in hours)
    second = merge_all(sketch_values(h, edges) for h in hours)
    assert first == second


def test_merge_refuses_other_edges():
    with pytest.raises(ValueError):
        NumericSketch.empty((0.0,)).merge(NumericSketch.empty((1.0,)))


def test_sketch_round_trips_through_json():
    x = np.random.default_rng(2).normal(size=500)
    s = sketch_values(np.r_[x, np.nan], fit_edges(x, n_quantiles=64))
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
        dict(edges=(1.0,), counts=(0, 0), mean=1.0),
        dict(edges=(1.0,), counts=(1, 0), m2=-1.0, min=0.0, max=0.0),
        dict(edges=(1.0,), counts=(1, 0), mean=math.nan, min=0.0, max=0.0),
    ],
)
def test_inconsistent_sketch_is_rejected(fields):
    with pytest.raises(ValueError):
        NumericSketch(**fields)
