"""Drift statistics between a reference and a current categorical sketch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from itertools import accumulate, repeat
from operator import add, lt, mul, sub, truediv

from .sketches import CategoricalSketch
from .special import chi2_sf

MIN_EXPECTED = 5.0
REFERENCE_PSEUDOCOUNT = 0.5


@dataclass(frozen=True)
class Chi2Result:
    """Goodness-of-fit χ² test of current counts against reference proportions.

    Attributes
    ----------
    statistic, pvalue : float
        χ² statistic and its upper-tail probability.
    dof : int
        Degrees of freedom: bins after pooling minus one (0 when untestable, p = 1).
    pooled : int
        Number of categories pooled into the low-expectation bin.
    """

    statistic: float
    pvalue: float
    dof: int
    pooled: int


def _check_pair(ref: CategoricalSketch, cur: CategoricalSketch) -> None:
    if not isinstance(ref, CategoricalSketch) or not isinstance(cur, CategoricalSketch):
        raise ValueError("ref and cur must be CategoricalSketch")
    if ref.n == 0 or cur.n == 0:
        raise ValueError("ref and cur must each hold at least one non-missing value")


def aligned_counts(
    ref: CategoricalSketch, cur: CategoricalSketch
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """Categories of both sketches (sorted) with their counts on each side.

    Examples
    --------
    >>> aligned_counts(CategoricalSketch({"a": 2}), CategoricalSketch({"b": 1}))
    (('a', 'b'), (2, 0), (0, 1))
    """
    if ref.counts.keys() >= cur.counts.keys():
        # no category new to the reference (the usual case): its categories, sorted, and counts, kept on it
        found = ref.derived.get("aligned")
        if found is None:
            found = ref.derived["aligned"] = (tuple(ref.counts), tuple(ref.counts.values()))
        categories, ref_counts = found
        return categories, ref_counts, tuple(map(cur.counts.get, categories, repeat(0)))
    categories = tuple(sorted(set(ref.counts) | set(cur.counts)))
    return (
        categories,
        tuple(ref.counts.get(k, 0) for k in categories),
        tuple(cur.counts.get(k, 0) for k in categories),
    )


def unseen_share(ref: CategoricalSketch, cur: CategoricalSketch) -> float:
    """Share of current values whose category never occurs in the reference.

    Notes
    -----
    :math:`u = \\sum_{k : r_k = 0} c_k / \\sum_k c_k`, NaN when `cur` has no value.

    Examples
    --------
    >>> unseen_share(CategoricalSketch({"a": 5}), CategoricalSketch({"a": 3, "z": 1}))
    0.25
    """
    if cur.n == 0:
        return math.nan
    if ref.counts.keys() >= cur.counts.keys():
        return 0 / cur.n
    return sum(v for k, v in cur.counts.items() if k not in ref.counts) / cur.n


@dataclass(frozen=True)
class Cells:
    """Aligned counts after pooling the cells expected fewer than ``min_expected`` times.

    Attributes
    ----------
    ref, cur : tuple of int
        Reference and current counts per cell, the pooled cell (if any) first.
    expected : tuple of float
        Current counts expected from the (pseudocounted) reference proportions.
    pooled : int
        Number of original cells merged into the pooled cell (0 when none).
    """

    ref: tuple[int, ...]
    cur: tuple[int, ...]
    expected: tuple[float, ...]
    pooled: int


def pooled_cells(
    ref_counts: Sequence[int],
    cur_counts: Sequence[int],
    min_expected: float = MIN_EXPECTED,
    pseudocount: float = REFERENCE_PSEUDOCOUNT,
) -> Cells:
    """Pool the cells too sparse for the current window's size into one cell.

    Parameters
    ----------
    ref_counts, cur_counts : sequence of int
        Counts on the same cells (categories or bins), in the same order; `cur_counts` sums to
        the window's size :math:`n`.
    min_expected : float, default 5
        Cells whose expected current count is below this are pooled.
    pseudocount : float, default 0.5
        Added to every reference count for the expectations (a category unseen in the reference
        is expected a little).

    Returns
    -------
    Cells

    Notes
    -----
    With reference proportions :math:`\\pi_k = (r_k + a) / (N_\\mathrm{ref} + K a)` the expected
    counts are :math:`E_k = n \\pi_k`. Cells with :math:`E_k <` `min_expected` are summed into one
    cell; while that cell is still below `min_expected` it absorbs the next least expected cell.
    One cell left means the window is too small for the feature's number of categories.

    Examples
    --------
    >>> c = pooled_cells([500, 400, 50, 10, 10], [50, 40, 5, 3, 2])
    >>> c.ref, c.cur, c.pooled
    ((70, 400, 500), (10, 40, 50), 3)
    >>> len(pooled_cells([10] * 30, [3] * 30).ref)
    1
    """
    k = len(ref_counts)
    n, n_ref = sum(cur_counts), sum(ref_counts)
    # n (v + a) / (N + k a) of each cell, in C-level passes
    expected_all = list(
        map(truediv, map(mul, repeat(n), map(add, ref_counts, repeat(pseudocount))), repeat(n_ref + k * pseudocount))
    )
    order = sorted(range(k), key=expected_all.__getitem__)
    expected = list(map(expected_all.__getitem__, order))
    ref = list(map(int, map(ref_counts.__getitem__, order)))
    cur = list(map(int, map(cur_counts.__getitem__, order)))
    n_small = sum(map(lt, expected, repeat(min_expected)))
    if n_small > 0:
        reach = next((i for i, s in enumerate(accumulate(expected)) if s >= min_expected), k)
        n_small = min(max(n_small, reach + 1), k)
        expected = [reduce(add, expected[:n_small], 0), *expected[n_small:]]  # left to right, as sum() in 3.11
        ref = [sum(ref[:n_small]), *ref[n_small:]]
        cur = [sum(cur[:n_small]), *cur[n_small:]]
    return Cells(tuple(ref), tuple(cur), tuple(expected), n_small)


def chi2_test(
    ref: CategoricalSketch,
    cur: CategoricalSketch,
    min_expected: float = MIN_EXPECTED,
    pseudocount: float = REFERENCE_PSEUDOCOUNT,
) -> Chi2Result:
    """χ² goodness-of-fit test of the current counts against reference proportions.

    Parameters
    ----------
    ref, cur : CategoricalSketch
        Non-empty sketches.
    min_expected : float, default 5
        Categories expected fewer times than this are pooled into one bin.
    pseudocount : float, default 0.5
        Added to every reference count (over the union of categories), so that categories unseen
        in the reference have a small, non-zero expectation.

    Returns
    -------
    Chi2Result

    Raises
    ------
    ValueError
        If a sketch is empty or a parameter is not positive.

    Notes
    -----
    Over the union of the :math:`K` categories, reference proportions
    :math:`\\pi_k = (r_k + a) / (N_\\mathrm{ref} + K a)` give expected counts :math:`E_k = n \\pi_k`.
    Categories with :math:`E_k <` `min_expected` are pooled (observed and expected summed); while
    the pooled bin is still below `min_expected` it absorbs the next least expected category. Then

    .. math:: X^2 = \\sum_j (O_j - E_j)^2 / E_j \\sim \\chi^2_{J-1}.

    Unseen categories thus land in the pooled bin, where a large observed count against a tiny
    expectation drives :math:`X^2` up. With fewer than two bins left the test is not informative:
    :math:`X^2 = 0`, p = 1, dof 0.

    Examples
    --------
    >>> ref = CategoricalSketch({"a": 500, "b": 500})
    >>> chi2_test(ref, CategoricalSketch({"a": 50, "b": 50})).pvalue
    1.0
    >>> chi2_test(ref, CategoricalSketch({"a": 80, "b": 20})).pvalue < 1e-8
    True
    """
    if not min_expected > 0 or not pseudocount > 0:
        raise ValueError("min_expected and pseudocount must be positive")
    _check_pair(ref, cur)
    _, r, c = aligned_counts(ref, cur)
    return chi2_of_cells(pooled_cells(r, c, min_expected, pseudocount))


def chi2_of_cells(cells: Cells) -> Chi2Result:
    """The χ² test of :func:`chi2_test` on cells already pooled (:func:`pooled_cells`)."""
    if len(cells.expected) < 2:
        return Chi2Result(statistic=0.0, pvalue=1.0, dof=0, pooled=cells.pooled)
    if len(cells.cur) != len(cells.expected):
        raise ValueError("cells must hold one expectation per cell")
    statistic = sum(
        map(truediv, map(pow, map(sub, cells.cur, cells.expected), repeat(2)), cells.expected)
    )  # (o - e)² / e
    dof = len(cells.expected) - 1
    return Chi2Result(statistic=statistic, pvalue=chi2_sf(statistic, dof), dof=dof, pooled=cells.pooled)
