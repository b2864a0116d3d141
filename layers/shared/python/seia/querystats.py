"""Drift statistics from stored sketches, in pure Python, for the query path.

The drift engine computes its results with numpy and scipy (``seia_drift.stats``); the query
function must import fast, so it cannot. When a user asks for windows the engine did not store
(``granularity=range``, or hour while the engine evaluates days), the query API merges the
stored hourly sketches and computes the same statistics and verdicts here. The formulas are the
engine's, line for line; ``tests/unit/test_querystats.py`` checks the two agree on random sketches.

Sketches are the engine's JSON dicts (``NumericSketch.to_dict(include_edges=False)`` and
``CategoricalSketch.to_dict()``); numeric ones need their feature's edges beside them.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from itertools import accumulate

from seia.jsonutil import finite

NAN = math.nan
PSI_EPSILON = 1e-4
COARSE_BINS = 10
MIN_EXPECTED = 5.0
REFERENCE_PSEUDOCOUNT = 0.5
DRIFT, NO_DRIFT, INSUFFICIENT_DATA = "drift", "no_drift", "insufficient_data"
# One-sided Smirnov by its exact sum up to this many terms, above by exp(-(6nx+1)²/18n) (|Δp| < 2e-5; < 5e-5 overall).
SMIRNOV_EXACT_TERMS = 1_000


# -- sketches ---------------------------------------------------------------------------------------
def empty_numeric(n_edges: int) -> dict:
    return {
        "kind": "numeric",
        "counts": [0] * (n_edges + 1),
        "missing": 0,
        "total": 0.0,
        "total_sq": 0.0,
        "min": None,
        "max": None,
    }


def merge_numeric(into: dict, other: dict) -> dict:
    """Add `other` into `into` (same edges), in place; returns `into`."""
    into["counts"] = list(map(operator.add, into["counts"], other["counts"]))
    into["missing"] += other.get("missing", 0)
    into["total"] += other.get("total", 0.0)
    into["total_sq"] += other.get("total_sq", 0.0)
    for key, pick in (("min", min), ("max", max)):
        value = other.get(key)
        if value is not None:
            into[key] = value if into[key] is None else pick(into[key], value)
    return into


def merge_categorical(into: dict, other: dict) -> dict:
    counts = into["counts"]
    for key, value in other["counts"].items():
        counts[key] = counts.get(key, 0) + value
    into["missing"] += other.get("missing", 0)
    return into


def empty_categorical() -> dict:
    return {"kind": "categorical", "counts": {}, "missing": 0}


def merge(into: dict | None, other: dict) -> dict:
    """Merge a sketch into an accumulator (created on first use from `other`'s kind)."""
    if into is None:
        into = empty_numeric(len(other["counts"]) - 1) if other["kind"] == "numeric" else empty_categorical()
    return merge_numeric(into, other) if other["kind"] == "numeric" else merge_categorical(into, other)


def _n(sketch: dict) -> int:
    counts = sketch["counts"]
    return sum(counts.values()) if isinstance(counts, dict) else sum(counts)


def _mean(s: dict) -> float:
    n = _n(s)
    return s["total"] / n if n else NAN


def _std(s: dict) -> float:
    n = _n(s)
    if n < 2:
        return NAN
    return math.sqrt(max(0.0, (s["total_sq"] - s["total"] * s["total"] / n) / (n - 1)))


# -- special functions ---------------------------------------------------------------------------------
def normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x): series below a + 1, continued fraction above.

    Notes
    -----
    :math:`P(a, x) = e^{-x} x^a / \\Gamma(a) \\sum_k x^k / (a (a+1) \\cdots (a+k))`;
    :math:`Q = 1 - P`, or Legendre's continued fraction by the modified Lentz method.

    Examples
    --------
    >>> round(gammaincc(1.0, 2.0), 12) == round(math.exp(-2.0), 12)
    True
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
    return gammaincc(dof / 2.0, x / 2.0)


def _smirnov(n: int, x: float) -> float:
    """One-sided P(D+_n >= x): Birnbaum–Tingey's exact sum, or its asymptotic form for huge n."""
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
    """Pelz–Good approximation of P(D_n <= x) (scipy.stats._ksstats._kolmogn_PelzGood)."""
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
        k = [v * qpower + c for v, c in zip(k, coeffs)]
    sqrt2pi = math.sqrt(2 * math.pi)
    k = [v * q * sqrt2pi / d for v, d in zip(k, (z, 6 * z4, 72 * z**7, 6480 * z**10))]
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
    return sum(v / n ** (i / 2.0) for i, v in enumerate(k))


def ks_sf(d: float, n: int) -> float:
    """P(D_n >= d) of the two-sided one-sample KS statistic, as ``scipy.stats.kstwo.sf(d, n)``.

    Notes
    -----
    scipy's branches (Simard & L'Ecuyer 2011): Ruben–Gambino's closed forms near the ends,
    twice the one-sided Smirnov tail for :math:`n d^2 \\ge 2.2` (or :math:`d \\ge 1/2`), and
    otherwise one minus the Pelz–Good CDF. scipy computes the middle region exactly (Durbin's
    matrix or Pomeranz) for :math:`n \\le 140` and tiny :math:`d`; there the two differ by
    the Pelz–Good error (below 1e-3 from n = 50, see the tests).

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
        return min(1.0, max(0.0, 2 * _smirnov(n, d)))
    if nx2 >= 18.0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - _pelz_good_cdf(n, d)))


# -- divergences ---------------------------------------------------------------------------------------
def _proportions(counts) -> list[float]:
    total = float(sum(counts))
    return [c / total for c in counts]


def psi(ref_counts, cur_counts, eps: float = PSI_EPSILON) -> float:
    p = [v if v > 0 else eps for v in _proportions(ref_counts)]
    q = [v if v > 0 else eps for v in _proportions(cur_counts)]
    return sum((b - a) * math.log(b / a) for a, b in zip(p, q))


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def js_distance(ref_counts, cur_counts) -> float:
    p, q = _proportions(ref_counts), _proportions(cur_counts)
    div = 0.0
    for a, b in zip(p, q):
        m = 0.5 * (a + b)
        div += 0.5 * (_xlogy(a, a) - _xlogy(a, m)) + 0.5 * (_xlogy(b, b) - _xlogy(b, m))
    return min(1.0, math.sqrt(max(0.0, div / math.log(2.0))))


# -- numeric -------------------------------------------------------------------------------------------
def _cumsum(values) -> list:
    return list(accumulate(values))


def _cdf_at_edges(s: dict, n: int) -> list[float]:
    cumulative = _cumsum(s["counts"])
    cumulative.pop()
    return [c / n for c in cumulative]


def _gap(ref: dict, cur: dict) -> list[float]:
    """F_ref - F_cur at every edge."""
    return list(map(operator.sub, _cdf_at_edges(ref, _n(ref)), _cdf_at_edges(cur, _n(cur))))


def ks(ref: dict, cur: dict, gap: list[float] | None = None) -> tuple[float, float]:
    n1, n2 = _n(ref), _n(cur)
    d = max(map(abs, gap if gap is not None else _gap(ref, cur)))
    n_effective = max(1.0, round(float(n1) * n2 / (n1 + n2)))
    return float(d), ks_sf(d, int(n_effective))


def _overflow_means(s: dict, edges) -> tuple[float, float]:
    counts = s["counts"]
    below, above = counts[0], counts[-1]
    lo = s["min"] if s["min"] is not None else edges[0]
    hi = s["max"] if s["max"] is not None else edges[-1]
    mean_below = 0.5 * (min(lo, edges[0]) + edges[0])
    mean_above = 0.5 * (edges[-1] + max(hi, edges[-1]))
    if (below > 0) != (above > 0):
        interior = sum(c * 0.5 * (a + b) for c, a, b in zip(counts[1:-1], edges[:-1], edges[1:]))
        residual = (s["total"] - interior) / (below if below > 0 else above)
        if below > 0:
            mean_below = min(max(residual, lo), edges[0])
        else:
            mean_above = min(max(residual, edges[-1]), max(hi, edges[-1]))
    return mean_below, mean_above


def wasserstein(ref: dict, cur: dict, edges, gap: list[float] | None = None) -> float:
    n1, n2 = _n(ref), _n(cur)
    gap = gap if gap is not None else _gap(ref, cur)
    interior = 0.0
    for left, right, lo, hi in zip(gap[:-1], gap[1:], edges[:-1], edges[1:]):
        magnitude = abs(left) + abs(right)
        if left * right >= 0:
            interior += (hi - lo) * 0.5 * magnitude
        elif magnitude > 0:
            interior += (hi - lo) * (left * left + right * right) / (2.0 * magnitude)

    def tails(s: dict, n: int) -> tuple[float, float]:
        mean_below, mean_above = _overflow_means(s, edges)
        return s["counts"][0] / n * (edges[0] - mean_below), s["counts"][-1] / n * (mean_above - edges[-1])

    (rb, ra), (cb, ca) = tails(ref, n1), tails(cur, n2)
    return float(interior + abs(rb - cb) + abs(ra - ca))


def coarse_starts(ref_counts, n_bins: int = COARSE_BINS) -> list[int]:
    """First fine bucket of each reference-quantile bin (as ``seia_drift.stats.coarse_counts``)."""
    cumulative = _cumsum(ref_counts)
    n = cumulative[-1]
    size = len(ref_counts)
    ends = []
    for j in range(1, n_bins):
        target = j * n / n_bins - 1e-9 * n
        lo, hi = 0, size  # first index with cumulative >= target
        while lo < hi:
            mid = (lo + hi) // 2
            if cumulative[mid] < target:
                lo = mid + 1
            else:
                hi = mid
        ends.append(lo)
    starts = sorted({0, *(e + 1 for e in ends)})
    starts = [s for s in starts if s < size]
    return [s for s in starts if s == 0 or cumulative[max(s - 1, 0)] < n]


def group_counts(counts, starts) -> list:
    bounds = list(starts) + [len(counts)]
    return [sum(counts[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def missing_change(ref: dict, cur: dict) -> tuple[float, float, float, float]:
    """(rate_ref, rate_cur, change, two-proportion z-test p-value)."""
    rows_ref, rows_cur = _n(ref) + ref.get("missing", 0), _n(cur) + cur.get("missing", 0)
    rate_ref = ref.get("missing", 0) / rows_ref if rows_ref else NAN
    rate_cur = cur.get("missing", 0) / rows_cur if rows_cur else NAN
    if rows_ref == 0 or rows_cur == 0:
        return rate_ref, rate_cur, rate_cur - rate_ref, NAN
    pooled = (ref.get("missing", 0) + cur.get("missing", 0)) / (rows_ref + rows_cur)
    if pooled in (0.0, 1.0):
        return rate_ref, rate_cur, rate_cur - rate_ref, 1.0
    z = (rate_cur - rate_ref) / math.sqrt(pooled * (1.0 - pooled) * (1.0 / rows_ref + 1.0 / rows_cur))
    return rate_ref, rate_cur, rate_cur - rate_ref, 2.0 * normal_sf(abs(z))


@dataclass(frozen=True)
class Drift:
    """Statistics of one column in one window, as the engine's ``NumericDrift``/``CategoricalDrift``."""

    kind: str
    n_ref: int
    n_cur: int
    rows_ref: int
    rows_cur: int
    pvalue: float  # KS (numeric) or χ² (categorical)
    effects: dict  # statistic -> value, for the effect ratios
    missing: tuple  # (rate_ref, rate_cur, change, pvalue)
    statistics: dict  # what the API shows (NaN as None later)


def numeric_drift(ref: dict, cur: dict, edges) -> Drift:
    n_ref, n_cur = _n(ref), _n(cur)
    ks_d = ks_p = w = w_normed = psi_value = js_value = NAN
    std_ref = _std(ref)
    if n_ref and n_cur:
        gap = _gap(ref, cur)
        ks_d, ks_p = ks(ref, cur, gap)
        w = wasserstein(ref, cur, edges, gap)
        if std_ref > 0:
            w_normed = w / std_ref
        elif n_ref >= 2:
            w_normed = 0.0 if w == 0 else math.inf
        starts = coarse_starts(ref["counts"])
        rc, cc = group_counts(ref["counts"], starts), group_counts(cur["counts"], starts)
        psi_value, js_value = psi(rc, cc), js_distance(rc, cc)
    missing = missing_change(ref, cur)
    stats = {
        "n_ref": n_ref,
        "n_cur": n_cur,
        "rows_ref": n_ref + ref["missing"],
        "rows_cur": n_cur + cur["missing"],
        "missing_rate_ref": missing[0],
        "missing_rate_cur": missing[1],
        "ks_statistic": ks_d,
        "ks_pvalue": ks_p,
        "wasserstein": w,
        "wasserstein_normed": w_normed,
        "psi": psi_value,
        "js_distance": js_value,
        "mean_ref": _mean(ref),
        "mean_cur": _mean(cur),
        "std_ref": std_ref,
        "std_cur": _std(cur),
        "min_cur": cur["min"],
        "max_cur": cur["max"],
        "min_ref": ref["min"],
        "max_ref": ref["max"],
    }
    return Drift(
        "numeric",
        n_ref,
        n_cur,
        stats["rows_ref"],
        stats["rows_cur"],
        ks_p,
        {"wasserstein_normed": w_normed, "js_distance": js_value, "psi": psi_value},
        missing,
        stats,
    )


def chi2_test(ref_counts: dict, cur_counts: dict) -> tuple[float, float]:
    n_ref, n_cur = sum(ref_counts.values()), sum(cur_counts.values())
    categories = sorted(set(ref_counts) | set(cur_counts))
    k = len(categories)
    expected = [
        n_cur * (ref_counts.get(c, 0) + REFERENCE_PSEUDOCOUNT) / (n_ref + k * REFERENCE_PSEUDOCOUNT) for c in categories
    ]
    order = sorted(range(k), key=lambda i: expected[i])
    expected = [expected[i] for i in order]
    observed = [float(cur_counts.get(categories[i], 0)) for i in order]
    n_small = sum(1 for e in expected if e < MIN_EXPECTED)
    if n_small > 0:
        cumulative = _cumsum(expected)
        reach = next((i for i, c in enumerate(cumulative) if c >= MIN_EXPECTED), len(cumulative))
        n_small = min(max(n_small, reach + 1), len(expected))
        expected = [sum(expected[:n_small])] + expected[n_small:]
        observed = [sum(observed[:n_small])] + observed[n_small:]
    if len(expected) < 2:
        return 0.0, 1.0
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected))
    return statistic, chi2_sf(statistic, len(expected) - 1)


def categorical_drift(ref: dict, cur: dict) -> Drift:
    n_ref, n_cur = _n(ref), _n(cur)
    chi_s = chi_p = js_value = psi_value = NAN
    if n_ref and n_cur:
        chi_s, chi_p = chi2_test(ref["counts"], cur["counts"])
        categories = sorted(set(ref["counts"]) | set(cur["counts"]))
        r = [ref["counts"].get(c, 0) for c in categories]
        c = [cur["counts"].get(k, 0) for k in categories]
        js_value, psi_value = js_distance(r, c), psi(r, c)
    unseen = (sum(v for k, v in cur["counts"].items() if k not in ref["counts"]) / n_cur) if n_cur else NAN
    missing = missing_change(ref, cur)
    stats = {
        "n_ref": n_ref,
        "n_cur": n_cur,
        "rows_ref": n_ref + ref["missing"],
        "rows_cur": n_cur + cur["missing"],
        "missing_rate_ref": missing[0],
        "missing_rate_cur": missing[1],
        "chi2_statistic": chi_s,
        "chi2_pvalue": chi_p,
        "js_distance": js_value,
        "psi": psi_value,
        "unseen_share": unseen,
    }
    return Drift(
        "categorical",
        n_ref,
        n_cur,
        stats["rows_ref"],
        stats["rows_cur"],
        chi_p,
        {"js_distance": js_value, "psi": psi_value, "unseen_share": unseen},
        missing,
        stats,
    )


def column_drift(ref: dict, cur: dict, edges=None) -> Drift:
    return numeric_drift(ref, cur, edges) if ref["kind"] == "numeric" else categorical_drift(ref, cur)


# -- verdicts ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    """The engine's :class:`seia_drift.stats.Thresholds`, without its validation (see seia.settings)."""

    wasserstein_normed: float = 0.1
    js_distance: float = 0.1
    psi: float = 0.2
    unseen_share: float = 0.05
    missing_rate_increase: float = 0.05
    alpha: float = 0.05
    min_rows: int = 100
    medium_factor: float = 2.0
    high_factor: float = 4.0

    @classmethod
    def from_settings(cls, settings: dict | None) -> Thresholds:
        s = settings or {}
        return cls(**(s.get("thresholds") or {}), min_rows=int(s.get("min_rows", 100)))


@dataclass(frozen=True)
class Verdict:
    verdict: str
    severity: str | None
    signals: tuple
    driver: str | None
    effect_ratio: float
    distribution_qvalue: float
    missing_qvalue: float


def benjamini_hochberg(pvalues) -> list[float]:
    present = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    out = [NAN] * len(pvalues)
    m = len(present)
    if m:
        order = sorted(present, key=lambda i: pvalues[i])
        running = math.inf
        for rank in range(m, 0, -1):
            i = order[rank - 1]
            running = min(running, pvalues[i] * m / rank)
            out[i] = min(1.0, running)
    return out


def judge_window(drifts: dict[str, Drift], t: Thresholds) -> dict[str, Verdict]:
    """Effect size AND a Benjamini–Hochberg-controlled test, as ``seia_drift.stats.judge_window``."""
    family = []
    for name, d in drifts.items():
        if d.rows_cur < t.min_rows or d.rows_ref < t.min_rows:
            continue
        if d.n_cur >= t.min_rows and d.n_ref >= t.min_rows and not math.isnan(d.pvalue):
            family.append((name, "distribution", d.pvalue))
        if not math.isnan(d.missing[3]):
            family.append((name, "missing_rate", d.missing[3]))
    qvalues = dict(zip(((n, s) for n, s, _ in family), benjamini_hochberg([p for _, _, p in family])))
    thresholds = {
        "wasserstein_normed": t.wasserstein_normed,
        "js_distance": t.js_distance,
        "psi": t.psi,
        "unseen_share": t.unseen_share,
    }
    out = {}
    for name, d in drifts.items():
        if d.rows_cur < t.min_rows or d.rows_ref < t.min_rows:
            out[name] = Verdict(INSUFFICIENT_DATA, None, (), None, NAN, NAN, NAN)
            continue
        candidates = {}
        q_dist = qvalues.get((name, "distribution"), NAN)
        q_miss = qvalues.get((name, "missing_rate"), NAN)
        effects = {}
        if (name, "distribution") in qvalues:
            effects = {k: v / thresholds[k] for k, v in d.effects.items() if not math.isnan(v / thresholds[k])}
        if effects:
            driver = max(effects, key=effects.get)
            candidates["distribution"] = (driver, effects[driver])
        if not math.isnan(d.missing[2]):
            candidates["missing_rate"] = ("missing_rate_increase", d.missing[2] / t.missing_rate_increase)
        q_of = {"distribution": q_dist, "missing_rate": q_miss}
        flagged = tuple(s for s, (_, ratio) in candidates.items() if ratio >= 1 and q_of[s] < t.alpha)
        pool = flagged or tuple(candidates)
        if pool:
            top = max(pool, key=lambda s: candidates[s][1])
            driver, ratio = candidates[top]
        else:
            driver, ratio = None, NAN
        severity = None
        if flagged:
            severity = "high" if ratio >= t.high_factor else "medium" if ratio >= t.medium_factor else "low"
        out[name] = Verdict(DRIFT if flagged else NO_DRIFT, severity, flagged, driver, float(ratio), q_dist, q_miss)
    return out


# -- performance ---------------------------------------------------------------------------------------
_CONFUSION = ("tp", "fp", "tn", "fn")


def merge_performance(a: dict | None, b: dict | None) -> dict | None:
    """Merge two hourly performance statistics (``seia_drift.performance.merge``)."""
    if a is None or b is None:
        return a if b is None else b
    kind = a["kind"]
    if kind == "binary":
        sa, sb = a["scored"], b["scored"]
        scored = {k: sa[k] + sb[k] for k in _CONFUSION}
        scored.update(
            kind="binary",
            log_loss_sum=sa["log_loss_sum"] + sb["log_loss_sum"],
            positive_hist=[x + y for x, y in zip(sa["positive_hist"], sb["positive_hist"])],
            negative_hist=[x + y for x, y in zip(sa["negative_hist"], sb["negative_hist"])],
        )
        unscored = {k: a["unscored"][k] + b["unscored"][k] for k in _CONFUSION}
        return {"kind": kind, "scored": scored, "unscored": unscored}
    if kind == "multiclass":
        return {
            "kind": kind,
            "labels": a["labels"],
            "matrix": [[x + y for x, y in zip(r1, r2)] for r1, r2 in zip(a["matrix"], b["matrix"])],
        }
    return {"kind": kind, **{k: a[k] + b[k] for k in ("n", "sum_abs_error", "sum_sq_error", "sum_y", "sum_y_sq")}}


def performance_metrics(stats: dict | None) -> dict:
    """Metrics of merged statistics (``seia_drift.performance.metrics``); None where undefined."""
    if stats is None:
        return {"n": 0}
    ratio = lambda a, b: a / b if b else None  # noqa: E731
    kind = stats["kind"]
    if kind == "binary":
        s = stats["scored"]
        c = {k: s[k] + stats["unscored"][k] for k in _CONFUSION}
        n = sum(c.values())
        scored_n = sum(s[k] for k in _CONFUSION)
        pos, neg = s["positive_hist"], s["negative_hist"]
        pairs = float(sum(pos)) * sum(neg)
        below, auc_sum = 0.0, 0.0
        for p, q in zip(pos, neg):
            auc_sum += p * (below + 0.5 * q)
            below += q
        return {
            "n": n,
            "accuracy": ratio(c["tp"] + c["tn"], n),
            "precision": ratio(c["tp"], c["tp"] + c["fp"]),
            "recall": ratio(c["tp"], c["tp"] + c["fn"]),
            "f1": ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]),
            "roc_auc": finite(auc_sum / pairs) if scored_n and pairs else None,
            "log_loss": finite(s["log_loss_sum"] / scored_n) if scored_n else None,
            "scored": scored_n,
        }
    if kind == "multiclass":
        m = stats["matrix"]
        n = sum(map(sum, m))
        f1s = []
        for i in range(len(m)):
            den = sum(m[i]) + sum(row[i] for row in m)
            if den > 0:
                f1s.append(2 * m[i][i] / den)
        return {
            "n": n,
            "accuracy": ratio(sum(m[i][i] for i in range(len(m))), n),
            "macro_f1": sum(f1s) / len(f1s) if f1s else None,
        }
    n = stats["n"]
    if not n:
        return {"n": 0, "mae": None, "rmse": None, "r2": None}
    s_yy = stats["sum_y_sq"] - stats["sum_y"] * stats["sum_y"] / n
    return {
        "n": n,
        "mae": stats["sum_abs_error"] / n,
        "rmse": math.sqrt(stats["sum_sq_error"] / n),
        "r2": 1.0 - stats["sum_sq_error"] / s_yy if s_yy > 0 else None,
    }
