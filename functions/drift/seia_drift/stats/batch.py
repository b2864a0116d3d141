"""The bucket-level part of numeric drift for many windows of one feature at once, with numpy.

The drift step judges every changed hour and its day: for a numeric feature that is one reference
against a few dozen windows, each on ~513 buckets. What reads every bucket — the CDF gap, KS,
Wasserstein-1 and the coarse reference-quantile bins — is computed here for all of them in one pass
of array operations, and handed to :func:`seia.stats.numeric_drift` as :class:`seia.stats.Binned`;
the rest (tests, effects, chance levels, verdicts) is the shared core's, as on the query path.

Every operation is the one :mod:`seia.stats.numeric` performs, in the same order, so the numbers are
the same to the last bit where counts stay below 2**53 (the CDF is ``cumulative / n``, both exact in
float64; the interior sum of Wasserstein is a sequential ``cumsum``, as the core's left-to-right
sum): ``tests/unit/drift/test_batch.py`` checks it on many random sketches and their edge cases.
Windows with larger counts, or without a value, are left to the core (``None``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from seia.stats import Binned, NumericSketch
from seia.stats.numeric import DEFAULT_COARSE_BINS, _tails, coarse_counts

EXACT = 2**53
"""Counts from which float64 no longer holds every integer: such windows are left to the core."""


def binned(ref: NumericSketch, counts: npt.NDArray[np.int64], currents: Sequence[NumericSketch]) -> list[Binned | None]:
    """:class:`Binned` of `ref` against each window (row of `counts`, its sketch in `currents`).

    Parameters
    ----------
    ref : NumericSketch
        The reference, on the windows' edges.
    counts : array of int64, shape (windows, len(edges) + 1)
        Each window's bucket counts (``currents[i].counts``).
    currents : sequence of NumericSketch
        The windows' sketches (their tails, and which of them can be compared).

    Returns
    -------
    list of Binned or None
        None where the core computes it itself: an empty window or reference, or counts of 2**53 or more.
    """
    out: list[Binned | None] = [None] * len(currents)
    if ref.n == 0 or ref.n >= EXACT or not currents:
        return out
    edges = ref.edges
    usable = [i for i, s in enumerate(currents) if 0 < s.n < EXACT and (s.edges is edges or s.edges == edges)]
    if not usable:
        return out
    rows = counts[usable]
    n = rows.sum(axis=1)
    ref_cdf = np.asarray(ref.cdf)
    gap = ref_cdf - np.cumsum(rows[:, :-1], axis=1) / n[:, None]  # cdf_gap: a / n_ref - b / n_cur
    ks = np.abs(gap).max(axis=1)
    left, right = gap[:, :-1], gap[:, 1:]
    magnitudes = np.abs(left) + np.abs(right)
    terms = np.asarray(ref.half_widths) * magnitudes
    crossing = left * right < 0
    if crossing.any():
        widths = np.diff(np.asarray(edges))
        i, k = np.nonzero(crossing)
        a, b = left[i, k], right[i, k]
        terms[i, k] = widths[k] * (a * a + b * b) / (2.0 * magnitudes[i, k])
    interior = np.cumsum(terms, axis=1)[:, -1]  # left to right, as the core's sum
    starts, ref_coarse = _coarse(ref)
    coarse = np.add.reduceat(rows, starts, axis=1)
    ref_below, ref_above = _tails(ref)
    for j, index in enumerate(usable):
        cur_below, cur_above = _tails(currents[index])
        out[index] = Binned(
            float(ks[j]),
            float(interior[j]) + abs(ref_below - cur_below) + abs(ref_above - cur_above),
            (ref_coarse, tuple(coarse[j].tolist())),
        )
    return out


def _coarse(ref: NumericSketch) -> tuple[list[int], tuple[int, ...]]:
    """The first bucket of each coarse bin of the reference, and its counts on them (kept on the sketch)."""
    coarse_counts(ref, ref, DEFAULT_COARSE_BINS)  # fills ref.derived
    starts, ref_counts = ref.derived[("coarse", DEFAULT_COARSE_BINS)]
    return starts, ref_counts
