"""Special functions of the tests' null distributions, in pure Python.

The query function cannot import scipy (it must start fast), and the engine needs these only on
numbers read from sketches, so one implementation serves both. Each function follows the scipy
function named in its docstring; ``tests/unit/test_stats_reference.py`` compares them with scipy's
values frozen in ``tests/unit/stats_reference_values.json``.
"""

from __future__ import annotations

import math
from functools import lru_cache

# One-sided Smirnov by its exact sum up to this many terms, above by exp(-(6nx+1)²/18n) (|Δp| < 2e-5; < 5e-5 overall).
SMIRNOV_EXACT_TERMS = 1_000


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal distribution, as ``scipy.stats.norm.sf``.

    Notes
    -----
    :math:`1 - \\Phi(z) = \\tfrac12 \\operatorname{erfc}(z / \\sqrt 2)`, accurate far into the tail
    (no cancellation of :math:`1 - \\Phi`).

    Examples
    --------
    >>> normal_sf(0.0)
    0.5
    >>> round(normal_sf(1.959963984540054), 6)
    0.025
    """
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma :math:`Q(a, x)`, as ``scipy.special.gammaincc``.

    Notes
    -----
    :math:`P(a, x) = e^{-x} x^a / \\Gamma(a) \\sum_k x^k / (a (a+1) \\cdots (a+k))` below
    :math:`x = a + 1`, where :math:`Q = 1 - P`; above, Legendre's continued fraction by the modified
    Lentz method.

    Examples
    --------
    >>> round(gammaincc(1.0, 2.0), 12) == round(math.exp(-2.0), 12)
    True
    >>> gammaincc(3.0, 0.0)
    1.0
    """
    if x <= 0:
        return 1.0
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return min(1.0, math.exp(log_prefix) * h)


def chi2_sf(x: float, dof: int) -> float:
    """Upper tail of the χ² distribution with `dof` degrees of freedom, as ``scipy.stats.chi2.sf``.

    Notes
    -----
    :math:`\\Pr(X^2 \\ge x) = Q(\\nu / 2, x / 2)` (:func:`gammaincc`).

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 6)
    0.05
    """
    return gammaincc(dof / 2.0, x / 2.0)


def chi2_isf(p: float, dof: int) -> float:
    """Inverse of :func:`chi2_sf`: the :math:`x` with :math:`\\Pr(X^2 \\ge x) = p`, as ``scipy.stats.chi2.isf``.

    Parameters
    ----------
    p : float
        Upper-tail probability, in (0, 1).
    dof : int
        Degrees of freedom, at least 1.

    Raises
    ------
    ValueError
        If `p` is outside (0, 1) or `dof` < 1.

    Notes
    -----
    Bisection on :math:`\\log` :func:`chi2_sf`, to a relative
    :math:`10^{-12}`.

    Examples
    --------
    >>> round(chi2_isf(0.05, 1), 6)
    3.841459
    """
    if not 0.0 < p < 1.0 or dof < 1:
        raise ValueError(f"chi2_isf needs 0 < p < 1 and dof >= 1, got p={p!r}, dof={dof!r}")
    return _chi2_isf(float(p), int(dof))


@lru_cache(maxsize=1024)
def _chi2_isf(p: float, dof: int) -> float:
    lo, hi = 0.0, max(1.0, 2.0 * dof)
    while chi2_sf(hi, dof) > p:
        lo, hi = hi, 2.0 * hi
    target = math.log(p)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        sf = chi2_sf(mid, dof)
        if sf > 0 and math.log(sf) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


def smirnov_sf(n: int, x: float) -> float:
    """One-sided :math:`\\Pr(D^+_n \\ge x)`, as ``scipy.special.smirnov``.

    Notes
    -----
    Birnbaum–Tingey's exact sum

    .. math:: x \\sum_{j=0}^{\\lfloor n(1-x) \\rfloor} \\binom{n}{j}
       \\Big(1 - x - \\frac jn\\Big)^{n-j} \\Big(x + \\frac jn\\Big)^{j-1},

    summed in logarithms; above :data:`SMIRNOV_EXACT_TERMS` terms its asymptotic form
    :math:`\\exp(-(6nx+1)^2 / 18n)`.

    Examples
    --------
    >>> smirnov_sf(10, 0.0), smirnov_sf(10, 1.0)
    (1.0, 0.0)
    """
    if x <= 0:
        return 1.0
    if x >= 1:
        return 0.0
    last = int(math.floor(n * (1.0 - x)))
    if last > SMIRNOV_EXACT_TERMS:
        return min(1.0, math.exp(-((6.0 * n * x + 1.0) ** 2) / (18.0 * n)))
    log_n_fact = math.lgamma(n + 1.0)
    logs = []
    for j in range(last + 1):
        a = 1.0 - x - j / n
        if a <= 0:
            continue
        logs.append(
            log_n_fact
            - math.lgamma(j + 1.0)
            - math.lgamma(n - j + 1.0)
            + (n - j) * math.log(a)
            + (j - 1) * math.log(x + j / n)
        )
    if not logs:
        return 0.0
    top = max(logs)
    return min(1.0, x * math.exp(top) * sum(math.exp(v - top) for v in logs))


def _pelz_good_cdf(n: int, x: float) -> float:
    """Pelz–Good approximation of :math:`\\Pr(D_n \\le x)` (``scipy.stats._ksstats._kolmogn_PelzGood``)."""
    z = math.sqrt(n) * x
    z2, z3, z4, z6 = z * z, z**3, z**4, z**6
    pi2, pi4, pi6 = math.pi**2, math.pi**4, math.pi**6
    qlog = -pi2 / 8.0 / z2
    if qlog < -708:
        return 0.0
    q = math.exp(qlog)
    k1a, k1b = -z2, pi2 / 4.0
    k2a, k2b, k2c = 6 * z6 + 2 * z4, (2 * z4 - 5 * z2) * pi2 / 4.0, pi4 * (1 - 2 * z2) / 16.0
    k3d = pi6 * (5 - 30 * z2) / 64.0
    k3c = pi4 * (-60 * z2 + 212 * z4) / 16.0
    k3b = pi2 * (135 * z4 - 96 * z6) / 4.0
    k3a = -30 * z6 - 90 * z**8
    k = [0.0, 0.0, 0.0, 0.0]
    maxk = int(math.ceil(16 * z / math.pi))
    for i in range(maxk, 0, -1):
        m = 2 * i - 1
        m2, m4, m6 = m * m, m**4, m**6
        qpower = q ** (8 * i)
        coeffs = (1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6)
        k = [v * qpower + c for v, c in zip(k, coeffs, strict=True)]
    sqrt2pi = math.sqrt(2 * math.pi)
    k = [v * q * sqrt2pi / d for v, d in zip(k, (z, 6 * z4, 72 * z**7, 6480 * z**10), strict=True)]
    q = math.exp(-pi2 / 2.0 / z2)
    sqrt3z = math.sqrt(3.0) * z
    k2extra = k3extra = 0.0
    for i in range(maxk, 0, -1):
        qp = q ** (i * i)
        k2extra += i * i * qp
        kspi = math.pi * i
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * i * i * qp
    k[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
    k[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
    return float(sum(v / n ** (i / 2.0) for i, v in enumerate(k)))


def ks_sf(d: float, n: int) -> float:
    """:math:`\\Pr(D_n \\ge d)` of the two-sided one-sample KS statistic, as ``scipy.stats.kstwo.sf(d, n)``.

    Notes
    -----
    scipy's branches (Simard & L'Ecuyer 2011): Ruben–Gambino's closed forms near the ends,
    twice the one-sided Smirnov tail (:func:`smirnov_sf`) for :math:`n d^2 \\ge 2.2` (or
    :math:`d \\ge 1/2`), and otherwise one minus the Pelz–Good CDF. scipy computes the middle
    region exactly (Durbin's matrix or Pomeranz) for :math:`n \\le 140` and tiny :math:`d`; there
    the two differ by the Pelz–Good error (below 1e-3 from n = 50, below 5e-5 in the tested grid).

    Examples
    --------
    >>> ks_sf(0.0, 100), ks_sf(1.0, 100)
    (1.0, 0.0)
    """
    if d <= 0:
        return 1.0
    if d >= 1:
        return 0.0
    t = n * d
    if t <= 1.0:
        if t <= 0.5:
            return 1.0
        cdf = math.exp(math.lgamma(n + 1.0) - n * math.log(n) + n * math.log(2 * t - 1))
        return min(1.0, max(0.0, 1.0 - cdf))
    if t >= n - 1:
        return min(1.0, max(0.0, 2 * (1.0 - d) ** n))
    nx2 = t * d
    if nx2 >= 370.0:
        return 0.0
    if d >= 0.5 or nx2 >= 2.2 or (n <= 140 and nx2 > 4):
        return min(1.0, max(0.0, 2 * smirnov_sf(n, d)))
    if nx2 >= 18.0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - _pelz_good_cdf(n, d)))
