"""Reference bin edges for numeric sketches.

Edges are fixed once from a model's reference data and then used for every
hourly sketch of that feature, in Python and in PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from seia.stats import NumericSketch

DEFAULT_QUANTILES = 512


def fit_edges(reference: npt.ArrayLike, n_quantiles: int = DEFAULT_QUANTILES) -> tuple[float, ...]:
    """Bin edges from reference data: unique quantiles plus atom splitters.

    Parameters
    ----------
    reference : array_like of float
        Reference values. Non-finite values (NaN, ±inf) are ignored.
    n_quantiles : int, default 512
        Number of points of the quantile grid, at least 2.

    Returns
    -------
    tuple of float
        Strictly increasing edges; about `n_quantiles` of them for continuous
        data (528 for 100 000 normal values and the default grid), at most
        twice the grid's size.

    Raises
    ------
    ValueError
        If `n_quantiles` < 2 or `reference` has no finite value.

    Notes
    -----
    With the reference sorted, :math:`x_{(0)} \\le \\dots \\le x_{(n-1)}`, the
    grid picks the order statistics

    .. math:: q_i = x_{(\\mathrm{round}(i (n-1) / (m-1)))}, \\quad i = 0, \\dots, m-1,

    so the first edge is the reference minimum and the last its maximum, and
    the open interval between two consecutive distinct edges holds at most
    :math:`(n-1)/(m-1) + 1` reference values. The grid also takes the
    positions :math:`h / 2^j` and :math:`n - 1 - h / 2^j`,
    :math:`h = (n-1)/(m-1)`, :math:`j = 1, \\dots, \\lceil \\log_2 h \\rceil`,
    so that the outermost buckets of a heavy tail stay narrow (this matters
    to the Wasserstein distance, not to KS). A pick whose value is repeated
    in the reference more than :math:`\\max(2, n / (2(m-1)))` times is an
    *atom*: the edge ``nextafter(q, +inf)`` is added so that the atom gets
    its own bucket :math:`[q, q^+)`, which holds that single value only.

    Buckets follow PostgreSQL ``width_bucket(x, edges)`` on ``float8``
    values, i.e. ``numpy.searchsorted(edges, x, side="right")`` (see
    :func:`bucketize`). For two samples sketched on these edges the KS
    statistic read at the edges is a lower bound of the exact one, short by
    at most the smaller of the two samples' masses in one bucket: about
    :math:`1.5/(m-1)` for the reference, zero in atom buckets and in the
    buckets beyond the extremes.

    Examples
    --------
    >>> fit_edges([3.0, 1.0, 2.0, 2.0, 2.0, 4.0], n_quantiles=4)
    (1.0, 2.0, 2.0000000000000004, 3.0, 4.0)
    >>> fit_edges([5.0, 5.0])
    (5.0, 5.000000000000001)
    """
    if int(n_quantiles) != n_quantiles or n_quantiles < 2:
        raise ValueError(f"n_quantiles must be an integer >= 2, got {n_quantiles!r}")
    values = np.asarray(reference, dtype=float).ravel()
    values = np.sort(values[np.isfinite(values)])
    n = values.size
    if n == 0:
        raise ValueError("reference has no finite value")
    step = (n - 1) / (n_quantiles - 1)
    # Halving steps towards both extremes keep the outermost buckets narrow on heavy tails.
    tail = step / 2.0 ** np.arange(1, max(1, int(np.ceil(np.log2(max(step, 1.0))))) + 1)
    grid = np.concatenate([np.linspace(0.0, n - 1, int(n_quantiles)), tail, (n - 1) - tail])
    positions = np.rint(grid).astype(np.int64)
    picks = np.unique(values[positions])
    multiplicity = np.searchsorted(values, picks, side="right") - np.searchsorted(values, picks, side="left")
    atom_threshold = max(2.0, n / (2.0 * (n_quantiles - 1)))
    splitters = np.nextafter(picks[multiplicity >= atom_threshold], np.inf)
    return tuple(np.union1d(picks, splitters).tolist())


def bucketize(values: npt.ArrayLike, edges: Iterable[float]) -> npt.NDArray[np.int64]:
    """Bucket index of each value, as PostgreSQL ``width_bucket(x, edges)``.

    Parameters
    ----------
    values : array_like of float
        Values to place; they should be finite.
    edges : sequence of float
        Strictly increasing edges.

    Returns
    -------
    numpy.ndarray of int64
        Indices in ``0 .. len(edges)``.

    Notes
    -----
    Bucket :math:`k` holds :math:`e_{k-1} \\le x < e_k`, with
    :math:`e_{-1} = -\\infty` and :math:`e_{K} = +\\infty` for :math:`K`
    edges: bucket 0 lies below the first edge, bucket :math:`K` at or above
    the last one.

    Examples
    --------
    >>> bucketize([0.5, 1.0, 1.5, 3.0], (1.0, 2.0, 3.0)).tolist()
    [0, 1, 1, 3]
    """
    return np.searchsorted(np.asarray(tuple(edges), dtype=float), np.asarray(values, dtype=float), side="right")


def sketch_values(values: Any, edges: Iterable[float]) -> NumericSketch:
    """Sketch an array of raw values on `edges` with numpy; None, NaN and ±inf count as missing.

    The same sketch as :meth:`seia.stats.NumericSketch.from_values` (up to rounding of the
    moments), at numpy speed.

    Notes
    -----
    ``counts[k] = #{x : bucketize(x) = k}``; :math:`\\bar x` by pairwise summation and
    :math:`M_2 = \\sum (x - \\bar x)^2 - (\\sum (x - \\bar x))^2 / n` (the corrected two-pass
    algorithm, exact to rounding whatever the mean).

    Examples
    --------
    >>> s = sketch_values([1.0, 2.0, 2.5, float("nan"), None], edges=(2.0,))
    >>> s.counts, s.missing, s.min, s.max
    ((1, 2), 2, 1.0, 2.5)
    """
    edges = tuple(float(e) for e in edges)
    x = np.asarray(values, dtype=float).ravel()
    finite = np.isfinite(x)
    present = x[finite]
    counts = np.bincount(bucketize(present, edges), minlength=len(edges) + 1)
    missing = int(x.size - present.size)
    if present.size == 0:
        return NumericSketch(edges, tuple(counts.tolist()), missing)
    mean = float(present.mean())
    deviations = present - mean
    m2 = float(np.dot(deviations, deviations)) - float(deviations.sum()) ** 2 / present.size
    return NumericSketch(
        edges, tuple(counts.tolist()), missing, mean, max(0.0, m2), float(present.min()), float(present.max())
    )
