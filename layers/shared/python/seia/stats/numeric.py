"""Drift statistics between a reference and a current numeric sketch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce
from itertools import accumulate, compress, count, repeat
from operator import add, gt, mul, sub

from .sketches import NumericSketch
from .special import ks_sf

DEFAULT_COARSE_BINS = 10


@dataclass(frozen=True)
class KSResult:
    """Two-sample Kolmogorov–Smirnov statistic and asymptotic p-value."""

    statistic: float
    pvalue: float


def _check_pair(ref: NumericSketch, cur: NumericSketch) -> None:
    if not isinstance(ref, NumericSketch) or not isinstance(cur, NumericSketch):
        raise ValueError("ref and cur must be NumericSketch")
    if ref.edges != cur.edges:
        raise ValueError("ref and cur must be sketched on the same edges")
    if ref.n == 0 or cur.n == 0:
        raise ValueError("ref and cur must each hold at least one non-missing value")


def cdf_gap(ref: NumericSketch, cur: NumericSketch) -> list[float]:
    """:math:`F_\\mathrm{ref}(e_k^-) - F_\\mathrm{cur}(e_k^-)` at every edge :math:`e_k`.

    Examples
    --------
    >>> edges = (1.0, 2.0)
    >>> cdf_gap(NumericSketch.from_values([0.5, 1.5], edges), NumericSketch.from_values([1.5, 2.5], edges))
    [0.5, 0.5]
    """
    _check_pair(ref, cur)
    return list(map(sub, ref.cdf, cur.cdf))


def ks_test(ref: NumericSketch, cur: NumericSketch, gap: list[float] | None = None) -> KSResult:
    """Two-sample KS test read from two sketches on the same edges.

    Parameters
    ----------
    ref, cur : NumericSketch
        Non-empty sketches on the same edges.
    gap : list of float, optional
        :func:`cdf_gap` of the pair, when already computed.

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

    a lower bound of the exact statistic, short by at most the smaller of the two samples' masses
    in one bucket (see ``seia_drift.stats.fit_edges``). The p-value is Smirnov's asymptotic one, as
    in ``scipy.stats.ks_2samp(method="asymp")``: :math:`p = \\Pr(D_{n_e} \\ge D)` under
    ``scipy.stats.kstwo`` (:func:`~seia.stats.special.ks_sf`) with
    :math:`n_e = \\mathrm{round}(n_1 n_2 / (n_1 + n_2))`.

    Examples
    --------
    >>> edges = (1.0, 2.0, 3.0)
    >>> r = ks_test(NumericSketch.from_values([1, 1, 2, 2], edges), NumericSketch.from_values([2, 3, 3, 3], edges))
    >>> r.statistic
    0.75
    """
    gap = cdf_gap(ref, cur) if gap is None else gap
    return ks_result(max(map(abs, gap)), ref.n, cur.n)


def ks_result(d: float, n_ref: int, n_cur: int) -> KSResult:
    """:func:`ks_test` of the statistic `d` between samples of `n_ref` and `n_cur` values."""
    n1, n2 = float(n_ref), float(n_cur)
    n_effective = max(1, round(n1 * n2 / (n1 + n2)))
    return KSResult(statistic=d, pvalue=min(1.0, max(0.0, ks_sf(d, n_effective))))


@dataclass(frozen=True)
class Binned:
    """What a numeric comparison reads from every bucket, computed elsewhere for many windows at once (the
    engine's numpy batch, ``seia_drift.stats.batch``, kept equal to these functions by a test).

    Attributes
    ----------
    ks_statistic : float
        :math:`\\max_k |F_\\mathrm{ref}(e_k^-) - F_\\mathrm{cur}(e_k^-)|` (:func:`ks_test`).
    wasserstein : float
        :func:`wasserstein_distance`.
    coarse : (tuple of int, tuple of int)
        :func:`coarse_counts` with the default number of bins.
    """

    ks_statistic: float
    wasserstein: float
    coarse: tuple[tuple[int, ...], tuple[int, ...]]


def _overflow_means(sketch: NumericSketch, edges: tuple[float, ...]) -> tuple[float, float]:
    """Estimated means of the values below the first edge and at/above the last one."""
    counts = sketch.counts
    below, above = counts[0], counts[-1]
    lo = sketch.min if sketch.min is not None else edges[0]
    hi = sketch.max if sketch.max is not None else edges[-1]
    mean_below = 0.5 * (min(lo, edges[0]) + edges[0])
    mean_above = 0.5 * (edges[-1] + max(hi, edges[-1]))
    if (below > 0) != (above > 0):
        # Only one overflow bucket is filled: its sum is the total minus the interior,
        # exact when all values overflow (data entirely outside the reference range).
        mids = sketch.midpoints
        if mids is not None:  # c * mid is c * 0.5 * (a + b): halving is exact, one rounding either way
            interior = math.fsum(map(mul, counts[1:-1], mids))
        else:
            interior = math.fsum(c * 0.5 * (a + b) for c, a, b in zip(counts[1:-1], edges[:-1], edges[1:], strict=True))
        residual_mean = (sketch.total - interior) / (below if below > 0 else above)
        if below > 0:
            mean_below = min(max(residual_mean, lo), edges[0])
        else:
            mean_above = min(max(residual_mean, edges[-1]), max(hi, edges[-1]))
    return mean_below, mean_above


def wasserstein_distance(ref: NumericSketch, cur: NumericSketch, gap: list[float] | None = None) -> float:
    """Wasserstein-1 distance between two sketches on the same edges.

    Parameters
    ----------
    ref, cur : NumericSketch
        Non-empty sketches on the same edges.
    gap : list of float, optional
        :func:`cdf_gap` of the pair, when already computed.

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
    :math:`[e_{k-1}, e_k)` the CDF gap is taken linear between its known end values
    :math:`D_{k-1}, D_k` (values uniform within a bucket), giving :math:`w (|D_{k-1}| + |D_k|)/2`
    for equal signs and :math:`w (D_{k-1}^2 + D_k^2) / (2(|D_{k-1}| + |D_k|))` otherwise. Beyond
    the edges, :math:`\\int_{e_K}^{\\infty} (1 - F) = \\Pr(X \\ge e_K)(\\bar x_{\\ge e_K} - e_K)` (and
    its mirror below :math:`e_0`), and the two samples' terms are subtracted, which is exact when
    the gap keeps its sign there. The mean of an overflow bucket is recovered from the sketch's
    total :math:`n \\bar x` when it is the only filled one (exact for data entirely out of range),
    otherwise it is the middle of the bucket's extent ``[min, e_0)`` or ``[e_K, max]``.

    Examples
    --------
    >>> edges = tuple(float(e) for e in range(11))
    >>> a = NumericSketch.from_values([0.5, 1.5, 2.5], edges)
    >>> b = NumericSketch.from_values([1.5, 2.5, 3.5], edges)
    >>> round(wasserstein_distance(a, b), 12)
    1.0
    """
    gap = cdf_gap(ref, cur) if gap is None else gap
    if len(gap) != len(ref.edges):
        raise ValueError("gap must hold one value per edge")
    edges = ref.edges
    # Bucket k (between edges k and k + 1): w (|D_k| + |D_k+1|) / 2 where the gap keeps its sign, in
    # C-level passes; then the few buckets where it changes sign, and the sum in bucket order.
    magnitudes = list(map(add, map(abs, gap[:-1]), map(abs, gap[1:])))
    terms = list(map(mul, ref.half_widths, magnitudes))
    for k in compress(count(), map(gt, repeat(0.0), map(mul, gap[:-1], gap[1:]))):
        left, right = gap[k], gap[k + 1]
        terms[k] = (edges[k + 1] - edges[k]) * (left * left + right * right) / (2.0 * magnitudes[k])
    interior = reduce(add, terms, 0.0)  # left to right whatever the Python (3.12's sum compensates)
    (ref_below, ref_above), (cur_below, cur_above) = overflow_tails(ref), overflow_tails(cur)
    return interior + abs(ref_below - cur_below) + abs(ref_above - cur_above)


def overflow_tails(sketch: NumericSketch) -> tuple[float, float]:
    """:math:`\\Pr(X < e_0)(e_0 - \\bar x_{<e_0})` and :math:`\\Pr(X \\ge e_K)(\\bar x_{\\ge e_K} - e_K)`
    (see :func:`wasserstein_distance`), kept on the sketch."""
    found = sketch.derived.get("tails")
    if found is None:
        edges = sketch.edges
        mean_below, mean_above = _overflow_means(sketch, edges)
        below = sketch.counts[0] / sketch.n * (edges[0] - mean_below)
        above = sketch.counts[-1] / sketch.n * (mean_above - edges[-1])
        found = sketch.derived["tails"] = (below, above)
    return found


def coarse_starts(ref_counts: tuple[int, ...] | list[int], n_bins: int = DEFAULT_COARSE_BINS) -> list[int]:
    """First fine bucket of each reference-quantile bin (see :func:`coarse_counts`).

    Examples
    --------
    >>> coarse_starts([5, 0, 5, 0], n_bins=2)
    [0, 1]
    """
    if int(n_bins) != n_bins or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    cumulative = list(accumulate(ref_counts))
    n = cumulative[-1]
    if n <= 0:
        raise ValueError("the reference holds no value")
    size = len(cumulative)
    ends = []
    for j in range(1, int(n_bins)):
        target = j * n / n_bins - 1e-9 * n
        lo, hi = 0, size  # first index with cumulative >= target
        while lo < hi:
            mid = (lo + hi) // 2
            if cumulative[mid] < target:
                lo = mid + 1
            else:
                hi = mid
        ends.append(lo)
    starts = [s for s in sorted({0, *(e + 1 for e in ends)}) if s < size]
    # A trailing group without reference mass (e.g. past an atom at the maximum) joins the one before.
    return [s for s in starts if s == 0 or cumulative[s - 1] < n]


def group_counts(counts: tuple[int, ...] | list[int], starts: list[int]) -> tuple[int, ...]:
    """Sums of `counts` over the groups beginning at `starts`.

    Examples
    --------
    >>> group_counts([1, 2, 3, 4], [0, 1, 3])
    (1, 5, 4)
    """
    bounds = [*starts, len(counts)]
    return tuple(sum(counts[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True))


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
        Reference and current counts on the coarse bins. Fewer than `n_bins` bins come out when
        reference atoms span several quantiles.

    Notes
    -----
    A coarse bin ends after the first fine bucket at which the reference cumulative share reaches
    :math:`j / n_\\mathrm{bins}`, :math:`j = 1, \\dots, n_\\mathrm{bins} - 1`. The overflow buckets
    join the first and the last coarse bin, and so does any trailing run of buckets without
    reference mass. A coarse bin's reference share is then within one fine bucket (about
    :math:`1/511`) of :math:`1/n_\\mathrm{bins}`.

    Examples
    --------
    >>> edges = tuple(float(e) for e in range(1, 10))
    >>> ref = NumericSketch.from_values(range(10), edges)
    >>> cur = NumericSketch.from_values([0, 0, 9, 9], edges)
    >>> coarse_counts(ref, cur, n_bins=2)
    ((5, 5), (2, 2))
    """
    if ref.edges != cur.edges or ref.n == 0:
        raise ValueError("ref must hold a value and share cur's edges")
    found = ref.derived.get(("coarse", n_bins))
    if found is None:
        starts = coarse_starts(ref.counts, n_bins)
        found = ref.derived[("coarse", n_bins)] = (starts, group_counts(ref.counts, starts))
    starts, ref_counts = found
    return ref_counts, group_counts(cur.counts, starts)
