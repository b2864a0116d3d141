"""Divergences between two distributions given as aligned count vectors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import repeat
from operator import truediv

PSI_EPSILON = 1e-4


def _proportions(counts: Sequence[float], name: str) -> list[float]:
    values = list(map(float, counts))
    if not values or not all(map(math.isfinite, values)) or min(values) < 0:
        raise ValueError(f"{name} must be a non-empty 1-d vector of non-negative counts")
    total = math.fsum(values)
    if total <= 0:
        raise ValueError(f"{name} sums to zero")
    return list(map(truediv, values, repeat(total)))


def _pair(ref_counts: Sequence[float], cur_counts: Sequence[float]) -> tuple[list[float], list[float]]:
    p, q = _proportions(ref_counts, "ref_counts"), _proportions(cur_counts, "cur_counts")
    if len(p) != len(q):
        raise ValueError("ref_counts and cur_counts must have the same length")
    return p, q


def psi(ref_counts: Sequence[float], cur_counts: Sequence[float], eps: float = PSI_EPSILON) -> float:
    """Population stability index of the current distribution against the reference.

    Parameters
    ----------
    ref_counts, cur_counts : sequence of float
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
    With proportions :math:`r_i, c_i` and each zero proportion replaced by :math:`\\varepsilon`
    (no renormalisation, so a bin empty on one side weighs
    :math:`|p - \\varepsilon| \\ln(p / \\varepsilon)`),

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
    total = 0.0
    for a, b in zip(p, q, strict=True):
        a, b = a if a > 0 else eps, b if b > 0 else eps
        total += (b - a) * math.log(b / a)
    return total


def js_distance(ref_counts: Sequence[float], cur_counts: Sequence[float]) -> float:
    """Jensen–Shannon distance (base 2) between two count vectors.

    Parameters
    ----------
    ref_counts, cur_counts : sequence of float
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
    divergence = 0.0
    log = math.log
    for a, b in zip(p, q, strict=True):
        # 0.5 (xlogy(a, a) - xlogy(a, m)) + 0.5 (xlogy(b, b) - xlogy(b, m)), m = (a + b) / 2, xlogy(0, y) = 0
        if a and b:
            log_m = log(0.5 * (a + b))
            divergence += 0.5 * (a * log(a) - a * log_m) + 0.5 * (b * log(b) - b * log_m)
        elif a:
            divergence += 0.5 * (a * log(a) - a * log(0.5 * a))
        elif b:
            divergence += 0.5 * (b * log(b) - b * log(0.5 * b))
    return min(1.0, math.sqrt(max(0.0, divergence / math.log(2.0))))
