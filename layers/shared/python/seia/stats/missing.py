"""Missing-value rates of sketches and their change between two windows."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .sketches import CategoricalSketch, NumericSketch
from .special import normal_sf


@dataclass(frozen=True)
class MissingRateChange:
    """Missing-value rate in the reference and the current window.

    Attributes
    ----------
    rate_ref, rate_cur : float
        Share of rows with a missing value, NaN for a window without rows.
    change : float
        ``rate_cur - rate_ref`` (positive when more values go missing).
    pvalue : float
        Two-sided two-proportion z-test, NaN when a window has no rows.
    """

    rate_ref: float
    rate_cur: float
    change: float
    pvalue: float


def missing_rate(sketch: NumericSketch | CategoricalSketch) -> float:
    """Share of the sketch's rows whose value is missing.

    Notes
    -----
    :math:`\\mathrm{rate} = \\mathrm{missing} / (n + \\mathrm{missing})`, NaN for no rows.

    Examples
    --------
    >>> missing_rate(CategoricalSketch({"a": 3}, missing=1))
    0.25
    """
    return sketch.missing / sketch.rows if sketch.rows else math.nan


def missing_rate_change(
    ref: NumericSketch | CategoricalSketch, cur: NumericSketch | CategoricalSketch
) -> MissingRateChange:
    """Change of the missing-value rate from `ref` to `cur`, with a two-proportion test.

    Notes
    -----
    With :math:`k_i` missing out of :math:`N_i` rows, :math:`\\hat p_i = k_i/N_i`
    and pooled :math:`\\bar p = (k_1 + k_2)/(N_1 + N_2)`,

    .. math:: z = \\frac{\\hat p_2 - \\hat p_1}{\\sqrt{\\bar p (1 - \\bar p)(1/N_1 + 1/N_2)}},
       \\qquad p = 2\\,(1 - \\Phi(|z|)).

    When :math:`\\bar p \\in \\{0, 1\\}` both rates are equal and :math:`p = 1`.

    Examples
    --------
    >>> r = missing_rate_change(CategoricalSketch({"a": 90}, missing=10), CategoricalSketch({"a": 70}, missing=30))
    >>> round(r.change, 2), r.pvalue < 0.001
    (0.2, True)
    """
    rows_ref, rows_cur = ref.rows, cur.rows
    rate_ref, rate_cur = missing_rate(ref), missing_rate(cur)
    if rows_ref == 0 or rows_cur == 0:
        return MissingRateChange(rate_ref, rate_cur, rate_cur - rate_ref, math.nan)
    pooled = (ref.missing + cur.missing) / (rows_ref + rows_cur)
    if pooled in (0.0, 1.0):
        return MissingRateChange(rate_ref, rate_cur, rate_cur - rate_ref, 1.0)
    z = (rate_cur - rate_ref) / math.sqrt(pooled * (1.0 - pooled) * (1.0 / rows_ref + 1.0 / rows_cur))
    return MissingRateChange(rate_ref, rate_cur, rate_cur - rate_ref, 2.0 * normal_sf(abs(z)))
