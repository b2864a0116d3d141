"""Drift statistics between a reference and a current numeric sketch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import kstwo

from .divergence import PSI_EPSILON, js_distance, psi
from .missing import MissingRateChange, missing_rate_change
from .sketches import NumericSketch

DEFAULT_COARSE_BINS = 10


@dataclass(frozen=True)
class KSResult:
    """Two-sample Kolmogorov–Smirnov statistic and asymptotic p-value."""

    statistic: float
    pvalue: float


@dataclass(frozen=True)
class NumericDrift:
    """All drift statistics of one numeric feature for one window.

    Attributes
    ----------
    n_ref, n_cur : int
        Non-missing values in each sketch.
    rows_ref, rows_cur : int
        Rows, missing included.
    ks_statistic, ks_pvalue : float
        See :func:`ks_test`.
    wasserstein, wasserstein_normed : float
        See :func:`wasserstein_distance`; the second is divided by the reference std.
    psi, js_distance : float
        On the coarse reference-quantile bins of :func:`coarse_counts`.
    mean_ref, mean_cur, std_ref, std_cur : float
        Moments from the sketches' sums.
    missing : MissingRateChange
        Missing-value rates.

    Distribution statistics are NaN when either sketch has no value.
    """

    n_ref: int
    n_cur: int
    rows_ref: int
    rows_cur: int
    ks_statistic: float
    ks_pvalue: float
    wasserstein: float
    wasserstein_normed: float
    psi: float
    js_distance: float
    mean_ref: float
    mean_cur: float
    std_ref: float
    std_cur: float
    missing: MissingRateChange


def _check_pair(ref: NumericSketch, cur: NumericSketch) -> None:
    if not isinstance(ref, NumericSketch) or not isinstance(cur, NumericSketch):
        raise ValueError("ref and cur must be NumericSketch")
    if ref.edges != cur.edges:
        raise ValueError("ref and cur must be sketched on the same edges")
    if ref.n == 0 or cur.n == 0:
        raise ValueError("ref and cur must each hold at least one non-missing value")


def _cdf_at_edges(sketch: NumericSketch) -> np.ndarray:
    """P(X < e_k) for every edge e_k."""
    return np.cumsum(np.asarray(sketch.counts, dtype=np.int64))[:-1] / sketch.n


def ks_test(ref: NumericSketch, cur: NumericSketch) -> KSResult:
    """Two-sample KS test read from two sketches on the same edges.

    Parameters
    ----------
    ref, cur : NumericSketch
        Non-empty sketches on the same edges.

    Returns
    -------
    KSResult

    Raises
    ------
    ValueError
        If the sketches differ in edges or one has no value.

    Notes
    -----
    .. math:: D = \\max_k |F_\\mathrm{ref}(e_k^-) - F_\\mathrm{cur}(e_k^-)|,

    a lower bound of the exact statistic, short by at most the smaller of the
    two samples' masses in one bucket (see
    :func:`~seia_drift.stats.binning.fit_edges`). The p-value is Smirnov's
    asymptotic one, as in ``scipy.stats.ks_2samp(method="asymp")``:
    :math:`p = \\Pr(D_{n_e} \\ge D)` under ``scipy.stats.kstwo`` with
    :math:`n_e = \\mathrm{round}(n_1 n_2 / (n_1 + n_2))`.

    Examples
    --------
    >>> edges = (1.0, 2.0, 3.0)
    >>> r = ks_test(NumericSketch.from_values([1, 1, 2, 2], edges), NumericSketch.from_values([2, 3, 3, 3], edges))
    >>> r.statistic
    0.75
    """
    _check_pair(ref, cur)
    d = float(np.max(np.abs(_cdf_at_edges(ref) - _cdf_at_edges(cur))))
    n1, n2 = float(ref.n), float(cur.n)
    n_effective = max(1.0, round(n1 * n2 / (n1 + n2)))
    return KSResult(statistic=d, pvalue=float(np.clip(kstwo.sf(d, n_effective), 0.0, 1.0)))


def _overflow_means(sketch: NumericSketch, edges: np.ndarray) -> tuple[float, float]:
    """Estimated means of the values below the first edge and at/above the last one."""
    counts = np.asarray(sketch.counts, dtype=float)
    below, above = counts[0], counts[-1]
    lo, hi = sketch.min if sketch.min is not None else edges[0], sketch.max if sketch.max is not None else edges[-1]
    mean_below = 0.5 * (min(lo, edges[0]) + edges[0])
    mean_above = 0.5 * (edges[-1] + max(hi, edges[-1]))
    if (below > 0) != (above > 0):
        # Only one overflow bucket is filled: its sum is the total minus the interior,
        # exact when all values overflow (data entirely outside the reference range).
        interior = float(np.dot(counts[1:-1], 0.5 * (edges[:-1] + edges[1:])))
        residual_mean = (sketch.total - interior) / (below if below > 0 else above)
        if below > 0:
            mean_below = float(np.clip(residual_mean, lo, edges[0]))
        else:
            mean_above = float(np.clip(residual_mean, edges[-1], max(hi, edges[-1])))
    return mean_below, mean_above


def wasserstein_distance(ref: NumericSketch, cur: NumericSketch) -> float:
    """Wasserstein-1 distance between two sketches on the same edges.

    Parameters
    ----------
    ref, cur : NumericSketch
        Non-empty sketches on the same edges.

    Returns
    -------
    float
        In the unit of the feature.

    Raises
    ------
    ValueError
        If the sketches differ in edges or one has no value.

    Notes
    -----
    :math:`W_1 = \\int |F_\\mathrm{ref} - F_\\mathrm{cur}|\\,dx`. Inside bucket
    :math:`[e_{k-1}, e_k)` the CDF gap is taken linear between its known end
    values :math:`D_{k-1}, D_k` (values uniform within a bucket), giving
    :math:`w (|D_{k-1}| + |D_k|)/2` for equal signs and
    :math:`w (D_{k-1}^2 + D_k^2) / (2(|D_{k-1}| + |D_k|))` otherwise. Beyond the
    edges, :math:`\\int_{e_K}^{\\infty} (1 - F) = \\Pr(X \\ge e_K)(\\bar x_{\\ge e_K} - e_K)`
    (and its mirror below :math:`e_0`), and the two samples' terms are
    subtracted, which is exact when the gap keeps its sign there. The mean of
    an overflow bucket is recovered from ``total`` when it is the only filled
    one (exact for data entirely out of range), otherwise it is the middle of
    the bucket's extent ``[min, e_0)`` or ``[e_K, max]``.

    Examples
    --------
    >>> edges = tuple(float(e) for e in range(11))
    >>> a = NumericSketch.from_values([0.5, 1.5, 2.5], edges)
    >>> b = NumericSketch.from_values([1.5, 2.5, 3.5], edges)
    >>> round(wasserstein_distance(a, b), 12)
    1.0
    """
    _check_pair(ref, cur)
    edges = np.asarray(ref.edges)
    gap = _cdf_at_edges(ref) - _cdf_at_edges(cur)
    left, right, width = gap[:-1], gap[1:], np.diff(edges)
    magnitude = np.abs(left) + np.abs(right)
    same_sign = left * right >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = np.where(magnitude > 0, (left**2 + right**2) / (2.0 * magnitude), 0.0)
    interior = float(np.sum(width * np.where(same_sign, 0.5 * magnitude, crossing)))

    def tails(sketch: NumericSketch) -> tuple[float, float]:
        mean_below, mean_above = _overflow_means(sketch, edges)
        below = sketch.counts[0] / sketch.n * (edges[0] - mean_below)
        above = sketch.counts[-1] / sketch.n * (mean_above - edges[-1])
        return below, above

    (ref_below, ref_above), (cur_below, cur_above) = tails(ref), tails(cur)
    return float(interior + abs(ref_below - cur_below) + abs(ref_above - cur_above))


def coarse_counts(
    ref: NumericSketch, cur: NumericSketch, n_bins: int = DEFAULT_COARSE_BINS
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Merge fine buckets into about `n_bins` reference-quantile bins.

    Parameters
    ----------
    ref, cur : NumericSketch
        Sketches on the same edges; `ref` must hold a value.
    n_bins : int, default 10
        Target number of bins (deciles), at least 2.

    Returns
    -------
    (tuple of int, tuple of int)
        Reference and current counts on the coarse bins. Fewer than
        `n_bins` bins come out when reference atoms span several quantiles.

    Notes
    -----
    A coarse bin ends after the first fine bucket at which the reference
    cumulative share reaches :math:`j / n_\\mathrm{bins}`,
    :math:`j = 1, \\dots, n_\\mathrm{bins} - 1`. The overflow buckets join the
    first and the last coarse bin, and so does any trailing run of buckets
    without reference mass. A coarse bin's reference share is then within one
    fine bucket (about :math:`1/511`) of :math:`1/n_\\mathrm{bins}`.

    Examples
    --------
    >>> edges = tuple(float(e) for e in range(1, 10))
    >>> ref = NumericSketch.from_values(range(10), edges)
    >>> cur = NumericSketch.from_values([0, 0, 9, 9], edges)
    >>> coarse_counts(ref, cur, n_bins=2)
    ((5, 5), (2, 2))
    """
    if int(n_bins) != n_bins or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    if ref.edges != cur.edges or ref.n == 0:
        raise ValueError("ref must hold a value and share cur's edges")
    ref_counts = np.asarray(ref.counts, dtype=np.int64)
    cumulative = np.cumsum(ref_counts)
    targets = np.arange(1, int(n_bins)) * ref.n / n_bins
    ends = np.searchsorted(cumulative, targets - 1e-9 * ref.n, side="left")
    starts = np.unique(np.concatenate([[0], ends + 1]))
    starts = starts[starts < ref_counts.size]
    # A trailing group without reference mass (e.g. past an atom at the maximum) joins the one before.
    starts = starts[(starts == 0) | (cumulative[np.maximum(starts - 1, 0)] < ref.n)]
    return (
        tuple(np.add.reduceat(ref_counts, starts).tolist()),
        tuple(np.add.reduceat(np.asarray(cur.counts, dtype=np.int64), starts).tolist()),
    )


def numeric_drift(
    ref: NumericSketch, cur: NumericSketch, n_bins: int = DEFAULT_COARSE_BINS, psi_eps: float = PSI_EPSILON
) -> NumericDrift:
    """Every drift statistic of a numeric feature, reference against current window.

    Parameters
    ----------
    ref, cur : NumericSketch
        Sketches on the same edges.
    n_bins : int, default 10
        Coarse bins for PSI and Jensen–Shannon (:func:`coarse_counts`).
    psi_eps : float, default 1e-4
        Proportion used for empty coarse bins in PSI.

    Returns
    -------
    NumericDrift
        Distribution statistics are NaN when either sketch has no value.

    Raises
    ------
    ValueError
        If the sketches differ in edges.

    Notes
    -----
    :math:`W_\\mathrm{normed} = W_1 / s_\\mathrm{ref}`; when the reference
    standard deviation :math:`s_\\mathrm{ref}` is zero it is 0 for
    :math:`W_1 = 0` and :math:`+\\infty` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from seia_drift.stats.binning import fit_edges
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(0, 1, 5000), rng.normal(0.5, 1, 5000)
    >>> edges = fit_edges(x)
    >>> d = numeric_drift(NumericSketch.from_values(x, edges), NumericSketch.from_values(y, edges))
    >>> round(d.wasserstein_normed, 1), d.ks_pvalue < 1e-6
    (0.5, True)
    """
    if not isinstance(ref, NumericSketch) or not isinstance(cur, NumericSketch) or ref.edges != cur.edges:
        raise ValueError("ref and cur must be NumericSketch on the same edges")
    nan = math.nan
    ks, w, w_normed, psi_value, js_value = KSResult(nan, nan), nan, nan, nan, nan
    std_ref = ref.std()
    if ref.n and cur.n:
        ks = ks_test(ref, cur)
        w = wasserstein_distance(ref, cur)
        if std_ref > 0:
            w_normed = w / std_ref
        elif ref.n >= 2:
            w_normed = 0.0 if w == 0 else math.inf
        ref_coarse, cur_coarse = coarse_counts(ref, cur, n_bins)
        psi_value = psi(ref_coarse, cur_coarse, eps=psi_eps)
        js_value = js_distance(ref_coarse, cur_coarse)
    return NumericDrift(
        n_ref=ref.n,
        n_cur=cur.n,
        rows_ref=ref.rows,
        rows_cur=cur.rows,
        ks_statistic=ks.statistic,
        ks_pvalue=ks.pvalue,
        wasserstein=w,
        wasserstein_normed=w_normed,
        psi=psi_value,
        js_distance=js_value,
        mean_ref=ref.mean(),
        mean_cur=cur.mean(),
        std_ref=std_ref,
        std_cur=cur.std(),
        missing=missing_rate_change(ref, cur),
    )
