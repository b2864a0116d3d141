"""The drift step's numpy batch and merges against the shared pure-Python core (the query path's).

``seia_drift.stats.batch.binned`` computes the bucket-level statistics (KS, Wasserstein, coarse bins) of
many windows at once; ``merge_day`` builds a day's and its hours' sketches from packed hourly sketches
with arrays. Both must give what the core gives on each window alone, which the query path recomputes
and the API shows beside the stored results: here, to the last bit, over random sketches and the edge
cases (empty and all-missing windows, one bucket, values beyond the edges, new categories, huge counts).
"""

import math
import pickle
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from seia.sparse import pack_sketch
from seia_drift.repositories.reference import FeatureBins
from seia_drift.stats import (
    CategoricalSketch,
    Comparison,
    NumericSketch,
    categorical_drift,
    drift_statistics,
    fit_edges,
    numeric_drift,
    sketch_values,
)
from seia_drift.stats.batch import EXACT, binned, pooled
from seia_drift.steps.drift import DriftStep, merge_day, merge_window, statistics

pytestmark = pytest.mark.unit
DAY = datetime(2026, 11, 2, tzinfo=UTC)


def same(a, b) -> bool:
    """Equal, NaN equal to NaN, floats to the last bit."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def core(ref, cur):
    """Everything the API shows of a numeric feature, computed by the core alone (fresh sketches: no kept state)."""
    ref, cur = pickle.loads(pickle.dumps(ref)), pickle.loads(pickle.dumps(cur))
    d = numeric_drift(ref, cur)
    return drift_statistics(d, ref, cur) | {"effects": dict(d.effects), "too_sparse": d.too_sparse}


def batched(ref, currents):
    counts = np.array([s.counts for s in currents], dtype=np.int64)
    out = []
    for cur, b in zip(currents, binned(ref, counts, currents), strict=True):
        d = numeric_drift(ref, cur, binned=b)
        out.append(drift_statistics(d, ref, cur) | {"effects": dict(d.effects), "too_sparse": d.too_sparse})
    return out


def random_window(rng: random.Random, nrng, edges, ref_values) -> NumericSketch:
    """A window of one of many kinds, sketched from raw values (so its moments and extremes are consistent)."""
    kind = rng.choice(["same", "shifted", "scaled", "tiny", "empty", "missing", "one_bucket", "beyond", "below"])
    n = rng.choice([1, 2, 5, 30, 100, 1000, 20000])
    lo, hi = edges[0], edges[-1]
    if kind == "same":
        x = nrng.choice(ref_values, n)
    elif kind == "shifted":
        x = nrng.choice(ref_values, n) + rng.uniform(-3, 3) * (np.std(ref_values) + 1e-9)
    elif kind == "scaled":
        x = nrng.choice(ref_values, n) * rng.choice([0.01, 10, 1000])
    elif kind == "tiny":
        x = nrng.choice(ref_values, rng.randint(1, 3))
    elif kind == "empty":
        return NumericSketch.empty(edges)
    elif kind == "missing":
        x = np.full(n, np.nan)
    elif kind == "one_bucket":
        x = np.full(n, ref_values[rng.randrange(len(ref_values))])
    elif kind == "beyond":  # only above the last edge, or on both sides
        x = hi + 1 + nrng.exponential(5, n)
        if rng.random() < 0.5:
            x[: n // 2] = lo - 1 - nrng.exponential(5, n // 2)
    else:  # only below the first edge, and some inside
        x = np.concatenate([lo - nrng.exponential(2, n), nrng.choice(ref_values, rng.randint(0, 5))])
    x = np.asarray(x, dtype=float)
    if rng.random() < 0.3 and x.size:
        x[nrng.random(x.size) < 0.2] = np.nan
    return sketch_values(x, edges)


def random_reference(rng: random.Random, nrng) -> tuple[NumericSketch, np.ndarray]:
    shape = rng.choice(["normal", "lognormal", "atoms", "two_values", "far"])
    n = rng.choice([50, 1000, 30000])
    if shape == "normal":
        x = nrng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 10), n)
    elif shape == "lognormal":
        x = nrng.lognormal(0, 2, n)
    elif shape == "atoms":
        x = nrng.integers(0, rng.choice([3, 12]), n).astype(float)
    elif shape == "two_values":
        x = np.where(nrng.random(n) < 0.9, 0.0, 1.0)
    else:
        x = 1e8 + nrng.normal(0, 1, n)
    edges = fit_edges(x)
    return sketch_values(x, edges), x


@pytest.mark.parametrize("seed", range(40))
def test_batch_equals_the_core_on_random_windows(seed):
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    ref, values = random_reference(rng, nrng)
    currents = [random_window(rng, nrng, ref.edges, values) for _ in range(25)]
    for cur, got in zip(currents, batched(ref, currents), strict=True):
        assert same(got, core(ref, cur)), (cur, got, core(ref, cur))


def test_batch_leaves_what_it_cannot_hold_exactly_to_the_core():
    edges = (0.0, 1.0, 2.0)
    ref = NumericSketch(edges, (3, 4, 5, 6), 0, 1.0, 10.0, -1.0, 3.0)
    huge = NumericSketch(edges, (EXACT, 1, 0, 0), 0, 0.0, 1.0, -1.0, 0.5)
    empty = NumericSketch.empty(edges)
    cur = NumericSketch(edges, (1, 0, 2, 0), 2, 1.0, 2.0, -0.5, 1.5)
    currents = [huge, empty, cur]
    counts = np.array([[0, 1, 0, 0], [0, 0, 0, 0], list(cur.counts)], dtype=np.int64)  # the huge row is not read
    b = binned(ref, counts, currents)
    assert b[0] is None and b[1] is None and b[2] is not None
    assert same(batched(ref, [cur])[0], core(ref, cur))
    # a huge reference: everything to the core
    big_ref = NumericSketch(edges, (EXACT, 4, 5, 6), 0, 1.0, 10.0, -1.0, 3.0)
    assert binned(big_ref, counts[2:], [cur]) == [None]


def test_a_reference_of_one_edge_is_left_to_the_core():
    # a reference of one row, or of one distinct value, has one edge and no interior bucket: the batch's
    # arrays would be empty (a drift run over such a model failed with an IndexError, found by test_fuzz_api)
    edges = (1.5,)
    ref = NumericSketch(edges, (0, 1), 0, 1.5, 0.0, 1.5, 1.5)
    cur = NumericSketch(edges, (1, 2), 1, 1.8, 2.0, 0.5, 2.5)
    counts = np.array([list(cur.counts)], dtype=np.int64)
    assert binned(ref, counts, [cur]) == [None]
    assert same(batched(ref, [cur])[0], core(ref, cur))


def _bins(reference_values, categories) -> dict[str, FeatureBins]:
    edges = fit_edges(reference_values)
    return {
        "x": FeatureBins(
            "x", "numeric", "feature", 0, list(edges), [], sketch_values(reference_values, edges).to_dict()
        ),
        "c": FeatureBins("c", "categorical", "feature", 0, None, None, CategoricalSketch(categories).to_dict()),
    }


def _hours(bins, rng: np.random.Generator, n_hours=24, dense_hour=None, missing_hour=None):
    """Stored rows (hour, feature, sketch) of a day: packed numeric sketches, categorical counts."""
    edges = bins["x"].edges
    rows = []
    for h in range(n_hours):
        hour = DAY + timedelta(hours=h)
        x = rng.normal(0.3 * (h % 5), 1 + h / 10, int(rng.integers(0, 300)))
        if h == missing_hour:
            x = np.full(7, np.nan)
        if h == 3:
            x = np.concatenate([x, [1e6, -1e6]])  # beyond both edges
        sketch = sketch_values(x, edges).to_dict(include_edges=False)
        rows.append((hour, "x", sketch if h == dense_hour else pack_sketch(sketch)))
        cats = {f"v{i}": int(c) for i, c in enumerate(rng.poisson(3, 12)) if c}
        if h % 7 == 0:
            cats["new"] = 4  # unseen in the reference
        rows.append((hour, "c", {"kind": "categorical", "counts": cats, "missing": int(rng.integers(0, 3))}))
    return rows


@pytest.mark.parametrize(("dense_hour", "missing_hour"), [(None, None), (5, None), (None, 6), (2, 9)])
def test_merge_day_builds_the_sketches_merge_window_builds(dense_hour, missing_hour):
    rng = np.random.default_rng(7)
    bins = _bins(rng.normal(0, 1, 5000), {f"v{i}": 100 + i for i in range(12)})
    rows = _hours(bins, rng, dense_hour=dense_hour, missing_hour=missing_hour)
    changed = [DAY + timedelta(hours=h) for h in (0, 3, 6, 9, 23)]
    day, hours, dense = merge_day(rows, bins, changed)
    assert same(day, merge_window(rows, bins))
    for hour in changed:
        alone = merge_window([r for r in rows if r[0] == hour], bins)
        assert same(hours[hour], alone) and list(hours[hour]) == list(alone)
    if dense_hour is None:
        keys, counts = dense["x"]
        assert keys == [None, *changed]
        assert [tuple(r) for r in counts.tolist()] == [day["x"].counts, *(hours[h]["x"].counts for h in changed)]
    else:
        assert "x" not in dense  # an older dense sketch: merged one by one, as before


def test_merge_day_keeps_hours_without_rows_and_categories_new_to_the_reference():
    rng = np.random.default_rng(3)
    bins = _bins(rng.normal(0, 1, 2000), {"a": 10, "b": 5})
    rows = [r for r in _hours(bins, rng, n_hours=4) if r[0] != DAY + timedelta(hours=1)]
    missing_hour = DAY + timedelta(hours=1)
    day, hours, _ = merge_day(rows, bins, [missing_hour, DAY])
    assert hours[missing_hour] == {}
    ref = CategoricalSketch.from_dict(bins["c"].reference)
    # the reference's kept categories serve windows without new ones; a new one takes the union
    for cur in (hours[DAY]["c"], day["c"], CategoricalSketch({"a": 3})):
        fresh = pickle.loads(pickle.dumps(ref))
        assert same(
            statistics(categorical_drift(ref, cur), ref, cur), statistics(categorical_drift(fresh, cur), fresh, cur)
        )


def test_a_reference_replaced_between_runs_is_never_judged_by_what_was_kept_of_the_old_one():
    """The worker's process (and its DriftStep) serves many runs and models. What is kept of a reference
    (its CDF, tails, coarse bins, categories, shares) lives on that reference's sketch: a new reference on
    the same edges and categories (the same feature, re-uploaded) is a new sketch and starts afresh. A cache
    keyed by feature, model or edges would judge the new reference's windows against the old one."""
    rng = np.random.default_rng(11)
    step = DriftStep()
    old_values, new_values = rng.normal(0, 1, 5000), rng.normal(2, 3, 5000)
    bins_old = _bins(old_values, {"a": 900, "b": 100})
    edges = bins_old["x"].edges
    bins_new = {  # the same feature and edges, other counts (a new upload judged on the stored bins)
        "x": FeatureBins("x", "numeric", "feature", 0, edges, [], sketch_values(new_values, edges).to_dict()),
        "c": FeatureBins(
            "c", "categorical", "feature", 0, None, None, CategoricalSketch({"a": 100, "b": 900}).to_dict()
        ),
    }
    cur_x = sketch_values(rng.normal(0.5, 1, 800), edges)
    cur_c = CategoricalSketch({"a": 500, "b": 500})
    counts = np.array([cur_x.counts], dtype=np.int64)

    def judged(bins):
        refs = step._references(bins)
        [b] = binned(refs["x"], counts, [cur_x])
        x = numeric_drift(refs["x"], cur_x, binned=b)
        c = categorical_drift(refs["c"], cur_c)
        return statistics(x, refs["x"], cur_x), statistics(c, refs["c"], cur_c)

    first = judged(bins_old)
    assert step._references(bins_old)["x"].derived  # something was kept on the old reference
    second = judged(bins_new)
    fresh_x = NumericSketch.from_dict(bins_new["x"].reference, edges=tuple(edges))
    fresh_c = CategoricalSketch.from_dict(bins_new["c"].reference)
    expected = (
        statistics(numeric_drift(fresh_x, cur_x), fresh_x, cur_x),
        statistics(categorical_drift(fresh_c, cur_c), fresh_c, cur_c),
    )
    assert same(second, expected)
    assert not same(second[0]["wasserstein"], first[0]["wasserstein"])
    assert second[1]["top_increase"]["category"] == "a" and first[1]["top_increase"]["category"] == "b"
    assert same(judged(bins_old), first)  # and back: the old reference's own values


def random_categories(rng: random.Random, n_categories: int, n: int, new: int = 0) -> CategoricalSketch:
    weights = [rng.paretovariate(1.2) for _ in range(n_categories)]
    counts: dict[str, int] = {}
    for k in rng.choices(range(n_categories), weights, k=n):
        counts[f"v{k}"] = counts.get(f"v{k}", 0) + 1
    for i in range(new):
        counts[f"new{i}"] = rng.randint(1, 50)
    return CategoricalSketch(counts, missing=rng.choice([0, 0, 3]))


def categorical_core(ref, cur, pooled=None):
    d = categorical_drift(ref, cur, pooled=pooled)
    return statistics(d, ref, cur) | {"effects": dict(d.effects), "too_sparse": d.too_sparse}


@pytest.mark.parametrize("seed", range(30))
def test_pooled_equals_the_core_on_random_categorical_windows(seed):
    rng = random.Random(seed)
    k = rng.choice([40, 70, 300, 1000])
    ref = random_categories(rng, k, rng.choice([2000, 100_000]))
    for _ in range(6):
        cur = random_categories(rng, k, rng.choice([1, 20, 200, 6000, 150_000]), new=rng.choice([0, 0, 1, 40]))
        got = pooled(ref, cur)
        fresh = pickle.loads(pickle.dumps(ref))
        expected = categorical_core(fresh, cur)
        if len(ref.counts) + len(cur.counts) < 64:
            assert got is None
            continue
        assert got is not None
        c = Comparison(fresh, cur)
        assert same(got.cells, c.cells) and same(got.distributions, c.distributions)
        result = categorical_core(ref, cur, got)
        assert same(result, expected)


def test_pooled_leaves_small_empty_and_huge_sketches_to_the_core():
    many = {f"v{i}": 10 for i in range(100)}
    assert pooled(CategoricalSketch({"a": 5, "b": 5}), CategoricalSketch({"a": 1})) is None  # few categories
    assert pooled(CategoricalSketch(many), CategoricalSketch({}, missing=4)) is None  # nothing to compare
    assert pooled(CategoricalSketch(many | {"v0": EXACT}), CategoricalSketch(many)) is None
    one = pooled(CategoricalSketch(many), CategoricalSketch({"v3": 1}))  # pooled into one cell: too sparse
    assert one is not None and len(one.cells.ref) == 1
    assert categorical_drift(CategoricalSketch(many), CategoricalSketch({"v3": 1}), pooled=one).too_sparse
    single = CategoricalSketch({"only": 10_000})  # a single category, many new ones in the window
    cur = CategoricalSketch({f"n{i}": 3 for i in range(80)} | {"only": 500})
    got = pooled(single, cur)
    assert got is not None and same(got.cells, Comparison(single, cur).cells)
