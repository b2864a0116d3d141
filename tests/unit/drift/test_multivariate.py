"""Multivariate drift (PCA data reconstruction): the fit, mergeable sketches, the band and the ranking."""

from __future__ import annotations

import numpy as np
import pytest

from seia_drift import multivariate as mv

FEATURES = [(f"x{i}", "numeric", i + 1) for i in range(4)] + [("c", "categorical", 1)]


def _draw(rng: np.random.Generator, n: int, rho: float) -> mv.Columns:
    x = rng.normal(size=(n, 4))
    x[:, 1] = rho * x[:, 0] + np.sqrt(1 - rho * rho) * x[:, 1]
    return mv.Columns(x, [list(rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2]))])


def _rows(values: mv.Columns, index) -> mv.Columns:
    return mv.Columns(values.numeric[index], [[c[i] for i in index] for c in values.categorical])


@pytest.fixture(scope="module")
def fitted():
    return mv.fit(FEATURES, _draw(np.random.default_rng(7), 4000, 0.8))


def test_hourly_sketches_merged_equal_the_sketch_of_all_rows(fitted):
    fit, rng = fitted, np.random.default_rng(11)
    rows = _draw(rng, 2400, 0.8)
    hours = np.repeat(np.arange(24), 100)
    by_hour = mv.sketches_by(fit, hours, rows)
    merged = mv.merge(by_hour[h] for h in sorted(by_hour))
    whole = mv.sketch(fit, rows)
    assert merged is not None and merged["n"] == whole["n"] == 2400
    assert merged["histogram"] == whole["histogram"]
    assert merged["mean"] == pytest.approx(whole["mean"], rel=1e-12)
    assert merged["m2"] == pytest.approx(whole["m2"], rel=1e-9)
    assert merged["sq"] == pytest.approx(whole["sq"], rel=1e-9)


def test_a_flipped_correlation_is_flagged_and_its_two_features_rank_first(fitted):
    fit, rng = fitted, np.random.default_rng(11)
    flipped = _draw(rng, 1000, -0.8)
    # each feature's marginal is unchanged: a univariate test has nothing to see
    assert abs(flipped.numeric[:, 1].mean()) < 0.1 and abs(flipped.numeric[:, 1].std() - 1) < 0.1
    v = mv.judge(fit, mv.sketch(fit, flipped), 100, 2, 4)
    assert v.verdict == "drift" and v.severity == "high"
    assert v.statistics["reconstruction_error"] > v.statistics["upper_threshold"]
    causes = mv.causes([v.statistics])
    assert {c.feature for c in causes[:2]} == {"x0", "x1"}
    assert causes[0].score + causes[1].score > 0.8


def test_the_reference_rows_judged_against_themselves_stay_inside_the_band():
    """A first-window reference is that window: its in-sample error sits below the cross-fitted mean
    (the PCA was fitted on those rows; 12 features, 1,000 rows: by almost 6 standard errors). A band
    around the cross-fitted mean alone flags it; the band spans both means."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1000, 12))
    x[:, 1] = 0.8 * x[:, 0] + 0.6 * x[:, 1]
    rows = mv.Columns(x, [])
    fit = mv.fit([(f"x{i}", "numeric", i + 1) for i in range(12)], rows)
    assert fit is not None
    v = mv.judge(fit, mv.sketch(fit, rows), 100, 2, 4)
    assert v.verdict == "no_drift"
    ref = fit["reference"]
    naive_se = np.sqrt(ref["m2"] / (ref["n"] - 1) / ref["n"])
    assert v.statistics["reconstruction_error"] < ref["mean"] - mv.Z * naive_se  # the naive band would flag it
    assert v.statistics["reconstruction_error"] == pytest.approx(ref["mean_in_sample"])


def test_the_band_is_sized_to_the_window_where_the_reference_chunks_band_is_not(fitted):
    """NannyML's band (mean ± 3 std of the reference's 10 chunk means, 400 rows each) is far too narrow
    for windows of 50 rows: stationary windows leave it often; the band sized to n keeps them quiet."""
    fit, rng = fitted, np.random.default_rng(11)
    ref = fit["reference"]
    chunk = np.asarray(ref["chunk_means"])
    naive_lo, naive_hi = chunk.mean() - 3 * chunk.std(ddof=1), chunk.mean() + 3 * chunk.std(ddof=1)
    naive = ours = 0
    for _ in range(300):
        s = mv.sketch(fit, _draw(rng, 50, 0.8))
        naive += not naive_lo <= s["mean"] <= naive_hi
        ours += mv.judge(fit, s, 30, 2, 4).verdict == "drift"
    assert naive / 300 > 0.15
    assert ours / 300 <= 0.02


def test_missing_values_take_the_reference_mean_or_mode_and_unseen_categories_no_indicator(fitted):
    fit = fitted
    mode = mv.Columns(np.array([[np.nan] * 4, [np.nan] * 4]), [[None, fit["categorical"][0]["mode"]]])
    encoded = mv.encode(fit, mode)
    assert np.allclose(encoded[0], encoded[1]) and np.allclose(encoded[0, :4], 0.0)
    unseen = mv.encode(fit, mv.Columns(np.zeros((1, 4)), [["never"]]))
    spec = fit["categorical"][0]
    assert np.allclose(unseen[0, 4:], -np.asarray(spec["means"]) / np.asarray(spec["stds"]))


def test_components_explain_the_set_share_of_variance(fitted):
    fit = fitted
    assert fit["explained_variance"] > fit["variance"] == mv.DEFAULT_VARIANCE
    fewer = mv.fit(FEATURES, _draw(np.random.default_rng(7), 4000, 0.8), variance=0.3)
    assert fewer is not None and fewer["n_components"] < fit["n_components"]


def test_nothing_to_reconstruct_and_bad_settings():
    rng = np.random.default_rng(1)
    one = mv.Columns(rng.normal(size=(100, 1)), [])
    assert mv.fit([("x", "numeric", 1)], one) is None
    with pytest.raises(ValueError, match="variance"):
        mv.fit(FEATURES, _draw(rng, 100, 0.5), variance=1.0)


def test_too_few_rows_is_insufficient_data(fitted):
    fit, rng = fitted, np.random.default_rng(11)
    v = mv.judge(fit, mv.sketch(fit, _draw(rng, 20, 0.8)), 100, 2, 4)
    assert v.verdict == "insufficient_data" and v.severity is None and v.statistics["rows"] == 20


def test_causes_name_the_features_that_explain_the_change_not_every_feature():
    """A naive ranking lists every feature with any share; a calm feature's sliver is not a cause."""
    from seia_drift import multivariate as mv

    window = {
        "rows": 1000,
        "contributions": [
            {"feature": "x3", "ref": 0.5, "cur": 1.5},  # the flipped pair: most of the rise
            {"feature": "x4", "ref": 0.5, "cur": 1.4},
            {"feature": "x1", "ref": 0.5, "cur": 0.52},  # calm: a sliver
            {"feature": "x2", "ref": 0.5, "cur": 0.51},
        ],
    }
    named = [c.feature for c in mv.causes([window])]
    assert named == ["x3", "x4"]


def _coded(column) -> mv.Coded:
    names = sorted({v for v in column if v is not None}, reverse=True)  # any order of the distinct values
    index = {v: i for i, v in enumerate(names)}
    return mv.Coded(np.array([-1 if v is None else index[v] for v in column]), names)


def test_coded_categorical_columns_give_the_fit_and_errors_of_plain_ones():
    """The engine's reads hand categorical columns over coded (codes into the distinct values); the fit,
    the canonical order and the errors are those of the same values as a plain sequence with None."""
    rng = np.random.default_rng(5)
    plain = _draw(rng, 3000, 0.7)
    column = [None if i % 17 == 0 else v for i, v in enumerate(plain.categorical[0])]
    plain = mv.Columns(plain.numeric, [column])
    coded = mv.Columns(plain.numeric, [_coded(column)])

    a, b = mv.canonical(plain), mv.canonical(coded)
    assert np.array_equal(a.numeric, b.numeric)
    decoded = [None if c < 0 else b.categorical[0].names[c] for c in b.categorical[0].codes]
    assert decoded == list(a.categorical[0])

    fit_a, fit_b = mv.fit(FEATURES, a), mv.fit(FEATURES, b)
    assert fit_a["categorical"] == fit_b["categorical"]
    assert np.allclose(fit_a["components"], fit_b["components"], rtol=0, atol=1e-12)
    for key, value in fit_a["reference"].items():
        assert value == pytest.approx(fit_b["reference"][key], rel=1e-12), key
    new = _draw(np.random.default_rng(6), 500, -0.7)
    new_column = [None if i % 5 == 0 else ("unseen" if i % 7 == 0 else v) for i, v in enumerate(new.categorical[0])]
    e_a, sq_a = mv.errors(fit_a, mv.Columns(new.numeric, [new_column]))
    e_b, sq_b = mv.errors(fit_a, mv.Columns(new.numeric, [_coded(new_column)]))
    assert np.array_equal(e_a, e_b) and np.array_equal(sq_a, sq_b)


def test_the_cross_fitted_pcas_scatter_equals_the_other_chunks_own():
    """Each chunk's PCA is fitted on the other chunks: their covariance, from the chunks' sums, equals
    the covariance computed from those rows themselves (to rounding), even far from the origin."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2003, 6)) @ rng.normal(size=(6, 6)) + 1e4
    bounds = np.linspace(0, len(x), mv.CHUNKS + 1).astype(int)
    scatters = mv._Scatters(x, bounds)
    assert np.allclose(scatters.whole(), np.cov(x, rowvar=False, bias=True), rtol=1e-10, atol=1e-10)
    for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        others = np.concatenate([x[:a], x[b:]])
        assert np.allclose(scatters.without(j), np.cov(others, rowvar=False, bias=True), rtol=1e-10, atol=1e-10)
        direct = mv._components(others, 3)
        assert np.allclose(mv._signed(mv._eigen(scatters.without(j))[1][:3]), direct, rtol=0, atol=1e-9)
