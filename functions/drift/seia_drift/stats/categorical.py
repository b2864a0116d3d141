"""Drift statistics between a reference and a current categorical sketch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from .divergence import PSI_EPSILON, js_distance, psi
from .missing import MissingRateChange, missing_rate_change
from .sketches import CategoricalSketch

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


@dataclass(frozen=True)
class CategoricalDrift:
    """All drift statistics of one categorical feature for one window.

    Attributes
    ----------
    n_ref, n_cur, rows_ref, rows_cur : int
        Non-missing values and rows of each sketch.
    chi2_statistic, chi2_pvalue : float
        See :func:`chi2_test`.
    js_distance, psi : float
        Over the union of categories.
    unseen_share : float
        See :func:`unseen_share`.
    missing : MissingRateChange
        Missing-value rates.

    Distribution statistics are NaN when either sketch has no value.
    """

    n_ref: int
    n_cur: int
    rows_ref: int
    rows_cur: int
    chi2_statistic: float
    chi2_pvalue: float
    js_distance: float
    psi: float
    unseen_share: float
    missing: MissingRateChange


def _check_pair(ref: CategoricalSketch, cur: CategoricalSketch) -> None:
    if not isinstance(ref, CategoricalSketch) or not isinstance(cur, CategoricalSketch):
        raise ValueError("ref and cur must be CategoricalSketch")
    if ref.n == 0 or cur.n == 0:
        raise ValueError("ref and cur must each hold at least one non-missing value")


def aligned_counts(ref: CategoricalSketch, cur: CategoricalSketch) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Categories of both sketches (sorted) with their counts on each side.

    Examples
    --------
    >>> cats, r, c = aligned_counts(CategoricalSketch({"a": 2}), CategoricalSketch({"b": 1}))
    >>> cats, r.tolist(), c.tolist()
    (('a', 'b'), [2, 0], [0, 1])
    """
    categories = tuple(sorted(set(ref.counts) | set(cur.counts)))
    r = np.array([ref.counts.get(k, 0) for k in categories], dtype=np.int64)
    c = np.array([cur.counts.get(k, 0) for k in categories], dtype=np.int64)
    return categories, r, c


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
    return sum(v for k, v in cur.counts.items() if k not in ref.counts) / cur.n


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
        Added to every reference count (over the union of categories), so that
        categories unseen in the reference have a small, non-zero expectation.

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
    :math:`\\pi_k = (r_k + a) / (N_\\mathrm{ref} + K a)` give expected counts
    :math:`E_k = n \\pi_k`. Categories with :math:`E_k <` `min_expected`
    are pooled (observed and expected summed); while the pooled bin is still
    below `min_expected` it absorbs the next least expected category. Then

    .. math:: X^2 = \\sum_j (O_j - E_j)^2 / E_j \\sim \\chi^2_{J-1}.

    Unseen categories thus land in the pooled bin, where a large observed
    count against a tiny expectation drives :math:`X^2` up. With fewer than
    two bins left the test is not informative: :math:`X^2 = 0`, p = 1, dof 0.

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
    expected = cur.n * (r + pseudocount) / (ref.n + r.size * pseudocount)
    order = np.argsort(expected, kind="stable")
    expected, observed = expected[order], c[order].astype(float)
    n_small = int(np.searchsorted(expected, min_expected, side="left"))
    if n_small > 0:
        cumulative = np.cumsum(expected)
        n_small = max(n_small, int(np.searchsorted(cumulative, min_expected, side="left")) + 1)
        n_small = min(n_small, expected.size)
        expected = np.concatenate([[expected[:n_small].sum()], expected[n_small:]])
        observed = np.concatenate([[observed[:n_small].sum()], observed[n_small:]])
    pooled = n_small
    if expected.size < 2:
        return Chi2Result(statistic=0.0, pvalue=1.0, dof=0, pooled=pooled)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    dof = expected.size - 1
    return Chi2Result(statistic=statistic, pvalue=float(chi2.sf(statistic, dof)), dof=dof, pooled=pooled)


def categorical_drift(
    ref: CategoricalSketch,
    cur: CategoricalSketch,
    min_expected: float = MIN_EXPECTED,
    psi_eps: float = PSI_EPSILON,
) -> CategoricalDrift:
    """Every drift statistic of a categorical feature, reference against current window.

    Parameters
    ----------
    ref, cur : CategoricalSketch
        Sketches of the reference and the current window.
    min_expected : float, default 5
        Pooling threshold of :func:`chi2_test`.
    psi_eps : float, default 1e-4
        Proportion used for categories empty on one side in PSI.

    Returns
    -------
    CategoricalDrift
        Distribution statistics are NaN when either sketch has no value.

    Notes
    -----
    Jensen–Shannon and PSI run over the union of categories, so a category
    unseen in the reference weighs :math:`c_k \\ln(c_k/\\varepsilon)` in PSI.

    Examples
    --------
    >>> d = categorical_drift(CategoricalSketch({"a": 900, "b": 100}), CategoricalSketch({"a": 50, "c": 50}))
    >>> d.unseen_share, round(d.js_distance, 3), d.chi2_pvalue < 1e-10
    (0.5, 0.585, True)
    """
    if not isinstance(ref, CategoricalSketch) or not isinstance(cur, CategoricalSketch):
        raise ValueError("ref and cur must be CategoricalSketch")
    nan = math.nan
    chi, js_value, psi_value = Chi2Result(nan, nan, 0, 0), nan, nan
    if ref.n and cur.n:
        chi = chi2_test(ref, cur, min_expected=min_expected)
        _, r, c = aligned_counts(ref, cur)
        js_value = js_distance(r, c)
        psi_value = psi(r, c, eps=psi_eps)
    return CategoricalDrift(
        n_ref=ref.n,
        n_cur=cur.n,
        rows_ref=ref.rows,
        rows_cur=cur.rows,
        chi2_statistic=chi.statistic,
        chi2_pvalue=chi.pvalue,
        js_distance=js_value,
        psi=psi_value,
        unseen_share=unseen_share(ref, cur),
        missing=missing_rate_change(ref, cur),
    )
