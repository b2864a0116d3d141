"""Corrections for testing many features in one window."""

from __future__ import annotations

import math
from collections.abc import Iterable


def benjamini_hochberg(pvalues: Iterable[float]) -> tuple[float, ...]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order.

    Parameters
    ----------
    pvalues : iterable of float
        p-values in [0, 1]; NaN entries are left out of the family and stay NaN.

    Returns
    -------
    tuple of float
        Adjusted p-values; reject at false discovery rate :math:`\\alpha`
        where the adjusted value is below :math:`\\alpha`.

    Raises
    ------
    ValueError
        If a p-value lies outside [0, 1].

    Notes
    -----
    With the :math:`m` p-values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`,

    .. math:: q_{(i)} = \\min\\Big(1, \\min_{j \\ge i} \\frac{m}{j} p_{(j)}\\Big).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    (0.04, 0.05333333333333334, 0.05333333333333334, 0.2)
    """
    p = [float(v) for v in pvalues]
    present = [i for i, v in enumerate(p) if not math.isnan(v)]
    if any(not 0.0 <= p[i] <= 1.0 for i in present):
        raise ValueError("p-values must lie in [0, 1]")
    out = [math.nan] * len(p)
    m = len(present)
    order = sorted(present, key=p.__getitem__)
    running = math.inf
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        out[i] = min(1.0, running)
    return tuple(out)
