"""Evidence: verdicts mean the same at every window size (issue 10 §3).

A stationary model with 20 categorical features of 5 to 30 levels (tests/support/smallsample.py)
is judged over 60 windows of 100, 200 and 1,000 rows, seeds 0..19, with the statistics core the
engine and the query path share; a shift of the threshold's size must still be found at 1,000 rows.
The end-to-end run through PostgreSQL, the engine and the query API is in test_small_windows_e2e.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from seia import stats
from tests.support import smallsample as s

SEEDS = range(20)
QUIET_GOAL, FOUND_GOAL = 0.95, 0.90
SHIFT_WINDOWS = 10  # an episode: the incident opens at its first flagged window


def _flags(seed: int, rows: int) -> list[tuple[int, str]]:
    refs = s.references(seed)
    return [
        (w, f)
        for w, window in enumerate(s.windows(seed, rows))
        for f, verdict in s.verdicts(refs, window).items()
        if verdict == "drift"
    ]


@pytest.mark.parametrize("rows", s.SIZES)
def test_a_stationary_model_with_many_categories_raises_no_drift_in_60_windows(rows):
    noisy = {seed: flags for seed in SEEDS if (flags := _flags(seed, rows))}
    quiet = 1 - len(noisy) / len(SEEDS)
    print(f"\n{rows} rows a window: {quiet:.0%} of seeds without any drift verdict over {s.WINDOWS} windows")
    assert quiet >= QUIET_GOAL, noisy


@pytest.mark.parametrize("into", ["most common category", "rarest category"])
def test_a_shift_of_the_threshold_size_is_still_found_at_1000_rows(into):
    """Each feature's true JS distance to the reference is the threshold (0.1): found in its episode."""
    threshold = stats.Thresholds().js_distance
    found = np.zeros(len(s.FEATURES))
    per_window = np.zeros(len(s.FEATURES))
    for seed in SEEDS:
        refs = s.references(seed)
        shift = {
            i: s.shifted(s.proportions(i), 0 if into == "most common category" else s.LEVELS[i] - 1, threshold)
            for i in range(len(s.FEATURES))
        }
        verdicts = [s.verdicts(refs, w) for w in s.windows(seed, 1_000, SHIFT_WINDOWS, shift)]
        for i, f in enumerate(s.FEATURES):
            hits = sum(v[f] == "drift" for v in verdicts)
            found[i] += hits > 0
            per_window[i] += hits / SHIFT_WINDOWS
    found, per_window = found / len(SEEDS), per_window / len(SEEDS)
    print(f"\nshift into the {into}: found in {found.min():.0%}..{found.max():.0%} of seeds, per window")
    print(", ".join(f"{f}: {r:.0%}" for f, r in zip(s.FEATURES, per_window, strict=True)))
    assert found.min() >= FOUND_GOAL, dict(zip(s.FEATURES, found, strict=True))
    # with up to 10 levels the chance level at 1,000 rows is below the threshold: the verdict is the threshold's
    assert per_window[: s.LEVELS.index(10) + 1].min() >= 0.5


def test_a_window_too_small_for_the_categories_is_insufficient_data_not_a_finding():
    refs = s.references(0)
    uniform30 = s.FEATURES[18]  # 29 equally likely levels: under 5 rows expected per level at 100 rows
    small = stats.categorical_drift(refs[uniform30], s.windows(0, 100, 1)[0][uniform30])
    assert small.too_sparse and np.isnan(small.js_distance)
    verdicts = [s.verdicts(refs, w) for w in s.windows(0, 100, 20)]
    assert {v[uniform30] for v in verdicts} == {"insufficient_data"}
    # the skewed 30-level feature keeps its common levels at 100 rows: judged, and quiet
    assert {v[s.FEATURES[19]] for v in verdicts} == {"no_drift"}
    assert {v[uniform30] for v in (s.verdicts(refs, w) for w in s.windows(0, 200, 5))} == {"no_drift"}


def test_a_shift_into_a_rare_category_is_found_through_the_pooled_cell():
    """30 levels, ten of them 0.3% each (3 rows expected in 1,000: pooled); one grows to 6%.

    A naive remedy for sparse categories, dropping those expected fewer than 5 times, never sees it.
    """
    p = np.r_[np.full(20, 0.97 / 20), np.full(10, 0.003)]
    q = s.shifted(p, 29, 0.15)
    found, naive_found = 0, 0
    for seed in SEEDS:
        rng = np.random.default_rng([30, seed])
        ref = rng.multinomial(s.REFERENCE_ROWS, p)
        hits = naive = 0
        for _ in range(SHIFT_WINDOWS):
            cur = rng.multinomial(1_000, q)
            drift = stats.categorical_drift(s.sketch(30, ref), s.sketch(30, cur))
            hits += stats.judge_window({"f": drift})["f"].verdict == "drift"
            kept = 1_000 * ref / ref.sum() >= 5
            dropped = stats.categorical_drift(
                s.sketch(30, np.where(kept, ref, 0)), s.sketch(30, np.where(kept, cur, 0))
            )
            naive += stats.judge_window({"f": dropped})["f"].verdict == "drift"
        found += hits > 0
        naive_found += naive > 0
    print(f"\nshift into a 0.3% category: found in {found / len(SEEDS):.0%} of seeds, dropping it: {naive_found}")
    assert found / len(SEEDS) >= FOUND_GOAL and naive_found == 0


def test_numeric_features_keep_their_verdicts_at_1000_rows():
    """Ten reference deciles: from 1,000 rows the chance level of JS and PSI is under their thresholds."""
    rng = np.random.default_rng(3)
    edges = tuple(float(e) for e in np.linspace(-4, 4, 161))
    ref = stats.NumericSketch.from_values(rng.normal(0, 1, 5_000).tolist(), edges)
    t = stats.Thresholds()
    at_1000 = stats.numeric_drift(ref, stats.NumericSketch.from_values(rng.normal(0, 1, 1_000).tolist(), edges))
    assert (stats.bar("js_distance", at_1000, t), stats.bar("psi", at_1000, t)) == (t.js_distance, t.psi)
    at_200 = stats.numeric_drift(ref, stats.NumericSketch.from_values(rng.normal(0, 1, 200).tolist(), edges))
    assert stats.bar("js_distance", at_200, t) == at_200.chance["js_distance"] > t.js_distance
    shifted = stats.numeric_drift(ref, stats.NumericSketch.from_values(rng.normal(0.15, 1, 1_000).tolist(), edges))
    assert stats.judge_window({"x": shifted})["x"].verdict == "drift"
