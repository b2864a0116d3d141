"""Corrections for testing many features in one window."""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(pvalues) -> tuple[float, ...]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order.

    Parameters
    ----------
    pvalues : array_like of float
        p-values in [0, 1]; NaN entries are left out of the family and stay NaN.

    Returns
    -------
    tuple of float
        Adjusted p-values; reject at false discovery rate :math:`\\alpha`
        where the adjusted value is below :math:`\\alpha`.

    Raises
    ------
    ValueError
        If a p-value lies outside [0, 1] or the input is not 1-d.

    Notes
    -----
    With the :math:`m` p-values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`,

    .. math:: q_{(i)} = \\min\\Big(1, \\min_{j \\ge i} \\frac{m}{j} p_{(j)}\\Big).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    (0.04, 0.05333333333333334, 0.05333333333333334, 0.2)
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError("pvalues must be 1-d")
    present = ~np.isnan(p)
    if np.any((p[present] < 0) | (p[present] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    adjusted = np.full(p.shape, np.nan)
    values = p[present]
    m = values.size
    if m:
        order = np.argsort(values, kind="stable")
        scaled = values[order] * m / np.arange(1, m + 1)
        q = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
        unsorted = np.empty(m)
        unsorted[order] = q
        adjusted[present] = unsorted
    return tuple(adjusted.tolist())
