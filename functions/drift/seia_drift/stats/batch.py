"""The bucket-level part of numeric drift for many windows of one feature at once, and the category-level
part of categorical drift for features of many categories, with numpy.

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

:func:`pooled` does the same for a categorical feature of many categories (the cells pooled to the window's
size, Jensen–Shannon and PSI on them), in the core's order too, the logarithms by ``math.log``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from seia.stats import Binned, CategoricalSketch, NumericSketch, Pooled
from seia.stats.categorical import MIN_EXPECTED, REFERENCE_PSEUDOCOUNT, Cells, aligned_counts
from seia.stats.divergence import PSI_EPSILON
from seia.stats.numeric import DEFAULT_COARSE_BINS, coarse_counts, overflow_tails

EXACT = 2**53
"""Counts from which float64 no longer holds every integer: such windows are left to the core."""
MANY = 64
"""Categories (of reference and window together) from which :func:`pooled` is worth its arrays."""


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
        None where the core computes it itself: an empty window or reference, counts of 2**53 or more, or
        fewer than two edges (a reference of one distinct value has no interior bucket to batch).
    """
    out: list[Binned | None] = [None] * len(currents)
    if ref.n == 0 or ref.n >= EXACT or not currents or len(ref.edges) < 2:
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
    ref_below, ref_above = overflow_tails(ref)
    for j, index in enumerate(usable):
        cur_below, cur_above = overflow_tails(currents[index])
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


def pooled(ref: CategoricalSketch, cur: CategoricalSketch) -> Pooled | None:
    """:class:`seia.stats.Pooled` of `ref` against `cur`, or None where the core is as fast or must do it:
    fewer than :data:`MANY` categories, an empty sketch, counts of 2**53 or more."""
    if not 0 < ref.n < EXACT or not 0 < cur.n < EXACT or len(ref.counts) + len(cur.counts) < MANY:
        return None
    _, r, c = aligned_counts(ref, cur)
    found = ref.derived.get("aligned")
    if found is not None and r is found[1]:  # the reference's own categories: its array, kept on it
        ref_counts = ref.derived.get("aligned_array")
        if ref_counts is None:
            ref_counts = ref.derived["aligned_array"] = np.array(r, dtype=np.int64)
    else:
        ref_counts = np.array(r, dtype=np.int64)
    ref_cells, cur_cells, expected, n_small = _pooled_cells(ref_counts, np.array(c, dtype=np.int64), ref.n)
    cells = Cells(tuple(ref_cells.tolist()), tuple(cur_cells.tolist()), tuple(expected.tolist()), n_small)
    p = _proportions(ref_cells)
    js = _js_distance(p, _proportions(cur_cells))
    return Pooled((r, c), cells, js, _psi(p, _proportions(np.where(cur_cells > 0, cur_cells, 0.5))))


def _pooled_cells(
    ref_counts: npt.NDArray[np.int64], cur_counts: npt.NDArray[np.int64], n_ref: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.floating[Any]], int]:
    """:func:`seia.stats.categorical.pooled_cells` (default parameters), in numpy: the cells' reference and
    current counts and expectations, and how many categories the first pooled."""
    k = len(ref_counts)
    n = int(cur_counts.sum())
    a = REFERENCE_PSEUDOCOUNT
    expected_all = n * (ref_counts + a) / (n_ref + k * a)
    order = np.argsort(expected_all, kind="stable")  # sorted(range(k), key=expected): stable, ascending
    expected, ref_o, cur_o = expected_all[order], ref_counts[order], cur_counts[order]
    n_small = int(np.count_nonzero(expected < MIN_EXPECTED))
    if n_small == 0:
        return ref_o, cur_o, expected, 0
    running = np.cumsum(expected)  # accumulate(expected): left to right
    reached = np.flatnonzero(running >= MIN_EXPECTED)
    reach = int(reached[0]) if reached.size else k
    n_small = min(max(n_small, reach + 1), k)
    # the first cell: sum(expected[:n_small]), left to right from 0, and the counts' sums
    expected = np.concatenate(([running[n_small - 1]], expected[n_small:]))
    ref_o = np.concatenate(([ref_o[:n_small].sum()], ref_o[n_small:]))
    cur_o = np.concatenate(([cur_o[:n_small].sum()], cur_o[n_small:]))
    return ref_o, cur_o, expected, n_small


def _logs(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``math.log`` of each positive value (0 where it is not): numpy's own logarithm may differ from it in the
    last bit (its SIMD loops), and the stored statistics must equal the query path's."""
    return np.array(list(map(math.log, np.where(x > 0, x, 1.0).tolist())))


def _proportions(counts: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Counts over their exactly rounded sum (:func:`math.fsum`), as the core's."""
    values = counts.astype(np.float64)
    return values / math.fsum(values.tolist())


def _js_distance(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> float:
    """:func:`seia.stats.divergence.js_distance` of two proportion vectors."""
    log_m = _logs(0.5 * (p + q))
    a = np.where(p > 0, 0.5 * (p * _logs(p) - p * log_m), 0.0)
    b = np.where(q > 0, 0.5 * (q * _logs(q) - q * log_m), 0.0)
    divergence = float(np.cumsum(a + b)[-1])  # left to right, as the core's loop
    return min(1.0, math.sqrt(max(0.0, divergence / math.log(2.0))))


def _psi(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> float:
    """:func:`seia.stats.divergence.psi` of two proportion vectors (the current one's empty cells at half a row)."""
    p = np.where(p > 0, p, PSI_EPSILON)
    q = np.where(q > 0, q, PSI_EPSILON)
    return float(np.cumsum((q - p) * _logs(q / p))[-1])
