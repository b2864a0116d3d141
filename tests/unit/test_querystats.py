"""The query path's pure-Python statistics agree with the drift engine's numpy/scipy library."""

import math

import numpy as np
import pytest
from scipy.stats import chi2, kstwo

from seia import querystats as qs
from seia_drift import performance
from seia_drift.stats import (
    BinaryCounts,
    CategoricalSketch,
    NumericSketch,
    Thresholds,
    benjamini_hochberg,
    categorical_drift,
    fit_edges,
    judge_window,
    numeric_drift,
)

STAT_TOL = 1e-9  # statistics read from the same counts: equal up to float summation order
PVALUE_TOL = 5e-5  # p-values: scipy's exact small-n branches against Pelz–Good / asymptotic Smirnov


def _close(a, b, tol):
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(b))


def _numeric_pair(rng, n_ref, n_cur, shift, missing):
    ref = rng.normal(0, 1, n_ref)
    cur = rng.normal(shift, 1 + abs(shift) / 2, n_cur)
    cur[rng.random(n_cur) < missing] = np.nan
    edges = fit_edges(ref, n_quantiles=int(rng.choice([16, 64, 512])))
    return edges, NumericSketch.from_values(ref, edges), NumericSketch.from_values(cur, edges)


@pytest.mark.parametrize("seed", range(40))
def test_numeric_statistics_agree_on_random_sketches(seed):
    rng = np.random.default_rng(seed)
    edges, ref, cur = _numeric_pair(
        rng,
        int(rng.integers(50, 20000)),
        int(rng.integers(20, 20000)),
        float(rng.choice([0, 0.05, 0.3, 2.0, 20.0])),
        float(rng.choice([0, 0.1])),
    )
    expected = numeric_drift(ref, cur)
    got = qs.numeric_drift(ref.to_dict(include_edges=False), cur.to_dict(include_edges=False), list(edges))
    for name in (
        "ks_statistic",
        "wasserstein",
        "wasserstein_normed",
        "psi",
        "js_distance",
        "mean_ref",
        "mean_cur",
        "std_ref",
        "std_cur",
    ):
        assert _close(got.statistics[name], getattr(expected, name), STAT_TOL), name
    assert _close(got.statistics["ks_pvalue"], expected.ks_pvalue, PVALUE_TOL)
    assert _close(got.missing[3], expected.missing.pvalue, 1e-12)
    assert got.statistics["missing_rate_cur"] == expected.missing.rate_cur


@pytest.mark.parametrize("seed", range(40))
def test_categorical_statistics_agree_on_random_sketches(seed):
    rng = np.random.default_rng(1000 + seed)
    k = int(rng.integers(2, 40))
    p = rng.dirichlet(np.ones(k))
    q = rng.dirichlet(np.ones(k) * float(rng.choice([0.3, 5, 500])))
    names = [f"v{i}" for i in range(k)]
    ref = CategoricalSketch(dict(zip(names, rng.multinomial(int(rng.integers(30, 20000)), p).tolist())))
    cur_counts = dict(zip(names, rng.multinomial(int(rng.integers(10, 20000)), q).tolist()))
    if seed % 3 == 0:
        cur_counts["unseen"] = int(rng.integers(1, 500))
    cur = CategoricalSketch(cur_counts, missing=int(rng.integers(0, 50)))
    expected = categorical_drift(ref, cur)
    got = qs.categorical_drift(ref.to_dict(), cur.to_dict())
    for name in ("chi2_statistic", "js_distance", "psi", "unseen_share"):
        assert _close(got.statistics[name], getattr(expected, name), STAT_TOL), name
    assert _close(got.statistics["chi2_pvalue"], expected.chi2_pvalue, 1e-10)


@pytest.mark.parametrize("n", [50, 100, 140, 141, 500, 2000, 4000, 20000, 100000, 10**6])
def test_the_ks_pvalue_follows_scipys_kstwo(n):
    for d in np.concatenate([np.linspace(0.0005, 0.99, 300), np.random.default_rng(n).random(100) ** 3]):
        assert abs(qs.ks_sf(float(d), n) - float(kstwo.sf(d, n))) <= PVALUE_TOL, d


def test_the_chi2_tail_follows_scipy():
    for dof in (1, 2, 3, 7, 30, 200):
        for x in np.concatenate([np.linspace(0, 5 * dof + 40, 60), [1e-3, 0.5 * dof, 1e4]]):
            assert qs.chi2_sf(float(x), dof) == pytest.approx(float(chi2.sf(x, dof)), rel=1e-9, abs=1e-300)


def test_benjamini_hochberg_agrees():
    rng = np.random.default_rng(5)
    p = rng.random(50) ** 4
    p[[3, 17]] = np.nan
    assert np.allclose(qs.benjamini_hochberg(p.tolist()), benjamini_hochberg(p), equal_nan=True, rtol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_verdicts_agree_with_the_same_thresholds(seed):
    rng = np.random.default_rng(2000 + seed)
    t = Thresholds(psi=float(rng.choice([0.1, 0.2])), min_rows=int(rng.choice([50, 100])))
    ours, theirs = {}, {}
    for i in range(6):
        edges, ref, cur = _numeric_pair(
            rng, 5000, int(rng.integers(20, 3000)), float(rng.choice([0, 0.1, 0.5])), float(rng.choice([0, 0.2]))
        )
        theirs[f"n{i}"] = numeric_drift(ref, cur)
        ours[f"n{i}"] = qs.numeric_drift(
            ref.to_dict(include_edges=False), cur.to_dict(include_edges=False), list(edges)
        )
    expected = judge_window(theirs, t)
    got = qs.judge_window(ours, qs.Thresholds.from_settings({"thresholds": {"psi": t.psi}, "min_rows": t.min_rows}))
    for name, v in expected.items():
        g = got[name]
        assert (g.verdict, g.severity, g.signals, g.driver) == (v.verdict, v.severity, v.signals, v.driver), name
        assert _close(g.effect_ratio, v.effect_ratio, 1e-9)
        assert _close(g.distribution_qvalue, v.distribution_qvalue, PVALUE_TOL * 10)


def test_merged_sketches_equal_the_librarys_merge():
    rng = np.random.default_rng(9)
    edges = fit_edges(rng.normal(size=2000), 64)
    hours = [NumericSketch.from_values(rng.normal(size=int(rng.integers(0, 50))), edges) for _ in range(24)]
    merged = None
    for h in hours:
        merged = qs.merge(merged, h.to_dict(include_edges=False))
    expected = hours[0]
    for h in hours[1:]:
        expected = expected.merge(h)
    assert merged["counts"] == list(expected.counts) and merged["min"] == expected.min
    assert merged["total"] == pytest.approx(expected.total, rel=1e-12)


def test_binary_performance_metrics_agree_after_merging_hours():
    rng = np.random.default_rng(3)
    hours = []
    for _ in range(5):
        y = rng.integers(0, 2, 300)
        s = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
        counts = BinaryCounts.from_arrays(y, s, n_bins=performance.SCORE_BINS)
        hours.append({"kind": "binary", "scored": counts.to_dict(), "unscored": {"tp": 1, "fp": 2, "tn": 3, "fn": 0}})
    theirs = ours = None
    for h in hours:
        theirs, ours = performance.merge(theirs, h), qs.merge_performance(ours, h)
    expected, got = performance.metrics(theirs), qs.performance_metrics(ours)
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-12), k


def test_regression_and_multiclass_metrics_agree():
    reg = [
        {"kind": "regression", "n": 10, "sum_abs_error": 4.0, "sum_sq_error": 3.0, "sum_y": 20.0, "sum_y_sq": 70.0},
        {"kind": "regression", "n": 5, "sum_abs_error": 1.0, "sum_sq_error": 0.5, "sum_y": 5.0, "sum_y_sq": 9.0},
    ]
    multi = [
        {"kind": "multiclass", "labels": ["a", "b", "c"], "matrix": [[5, 1, 0], [2, 7, 1], [0, 0, 0]]},
        {"kind": "multiclass", "labels": ["a", "b", "c"], "matrix": [[1, 0, 0], [0, 3, 0], [0, 1, 0]]},
    ]
    for hours in (reg, multi):
        theirs = ours = None
        for h in hours:
            theirs, ours = performance.merge(theirs, h), qs.merge_performance(ours, h)
        expected, got = performance.metrics(theirs), qs.performance_metrics(ours)
        assert got == pytest.approx(expected, rel=1e-12)
