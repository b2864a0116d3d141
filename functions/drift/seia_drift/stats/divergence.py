"""Divergences between two distributions given as aligned count vectors."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import xlogy

PSI_EPSILON = 1e-4


def _proportions(counts, name: str) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1 or c.size == 0 or np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must be a non-empty 1-d vector of non-negative counts")
    total = c.sum()
    if total <= 0:
        raise ValueError(f"{name} sums to zero")
    return c / total


def _pair(ref_counts, cur_counts) -> tuple[np.ndarray, np.ndarray]:
    p, q = _proportions(ref_counts, "ref_counts"), _proportions(cur_counts, "cur_counts")
    if p.shape != q.shape:
        raise ValueError("ref_counts and cur_counts must have the same length")
    return p, q


def psi(ref_counts, cur_counts, eps: float = PSI_EPSILON) -> float:
    """Population stability index of the current distribution against the reference.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Counts on the same bins (or categories), in the same order.
    eps : float, default 1e-4
        Proportion substituted for an empty bin, in (0, 1).

    Returns
    -------
    float
        Non-negative; 0 for identical proportions.

    Raises
    ------
    ValueError
        On mismatched or empty count vectors, or `eps` outside (0, 1).

    Notes
    -----
    With proportions :math:`r_i, c_i` and each zero proportion replaced by
    :math:`\\varepsilon` (no renormalisation, so a bin empty on one side
    weighs :math:`|p - \\varepsilon| \\ln(p / \\varepsilon)`),

    .. math:: \\mathrm{PSI} = \\sum_i (c_i - r_i) \\ln(c_i / r_i).

    Examples
    --------
    >>> round(psi([50, 50], [50, 50]), 6)
    0.0
    >>> round(psi([50, 50], [90, 10]), 4)
    0.8789
    """
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must be in (0, 1), got {eps!r}")
    p, q = _pair(ref_counts, cur_counts)
    p = np.where(p > 0, p, eps)
    q = np.where(q > 0, q, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(ref_counts, cur_counts) -> float:
    """Jensen–Shannon distance (base 2) between two count vectors.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Counts on the same bins (or categories), in the same order.

    Returns
    -------
    float
        In [0, 1]: 0 for identical proportions, 1 for disjoint supports.

    Raises
    ------
    ValueError
        On mismatched or empty count vectors.

    Notes
    -----
    With :math:`m = (p + q) / 2` and :math:`0 \\log 0 = 0` (no smoothing needed),

    .. math:: \\mathrm{JS}(p, q) = \\sqrt{\\tfrac12 \\mathrm{KL}_2(p \\| m) + \\tfrac12 \\mathrm{KL}_2(q \\| m)}.

    Examples
    --------
    >>> js_distance([1, 0], [0, 1])
    1.0
    >>> round(js_distance([50, 50], [90, 10]), 4)
    0.3831
    """
    p, q = _pair(ref_counts, cur_counts)
    m = 0.5 * (p + q)
    divergence = 0.5 * np.sum(xlogy(p, p) - xlogy(p, m)) + 0.5 * np.sum(xlogy(q, q) - xlogy(q, m))
    return float(min(1.0, math.sqrt(max(0.0, divergence / math.log(2.0)))))
