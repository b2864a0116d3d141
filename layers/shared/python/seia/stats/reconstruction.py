"""Multivariate drift's verdicts on stored sketches, in pure Python (the engine and the query path share them).

The engine (``seia_drift.multivariate``, numpy) fits the reference's PCA and turns rows into mergeable
sketches of their reconstruction errors; merging sketches, the reference's band and the verdict need
no numpy, so a range the query path merges from hourly sketches is judged exactly as the engine judges
its windows. See docs/drift.md ("Multivariate drift").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .sketches import merge_moments

Z = 3.0  # half-width of the band in standard errors (NannyML: mean ± 3 std of the reference chunks)


def merge(sketches: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The sketch of the union of the rows of some sketches (None when there are none).

    Examples
    --------
    >>> a = {"n": 2, "mean": 1.0, "m2": 2.0, "histogram": [1, 1], "sq": [1.0]}
    >>> b = {"n": 2, "mean": 3.0, "m2": 2.0, "histogram": [0, 2], "sq": [5.0]}
    >>> merge([a, b])
    {'n': 4, 'mean': 2.0, 'm2': 8.0, 'histogram': [1, 3], 'sq': [6.0]}
    """
    out: dict[str, Any] | None = None
    for s in sketches:
        if out is None:
            out = {"n": int(s["n"]), "mean": float(s["mean"]), "m2": float(s["m2"]),
                   "histogram": list(s["histogram"]), "sq": list(s["sq"])}  # fmt: skip
            continue
        out["mean"], out["m2"] = merge_moments(out["n"], out["mean"], out["m2"], int(s["n"]), s["mean"], s["m2"])
        out["n"] += int(s["n"])
        out["histogram"] = [a + b for a, b in zip(out["histogram"], s["histogram"])]
        out["sq"] = [a + b for a, b in zip(out["sq"], s["sq"])]
    return out


# -- verdicts -----------------------------------------------------------------------------------------
def band(fit: Mapping[str, Any], n: int) -> tuple[float, float, float]:
    """(lower, upper, standard error) of a window's mean error when nothing drifted, for n rows.

    Notes
    -----
    NannyML flags a chunk whose mean error leaves mean ± 3 std of the reference chunks' means: right
    for windows as large as those chunks, too narrow for smaller ones (the mean of n rows varies as
    σ/√n) and too wide for larger ones. So the standard error is sized to the window,

    .. math:: se(n) = \\sqrt{\\sigma^2 / n + \\tau^2}, \\qquad
       \\tau^2 = \\max(0, \\operatorname{var}(m_k) - \\sigma^2 / c)

    with σ the reference rows' error standard deviation, :math:`m_k` the means of the reference's
    chunks of c rows (cross-fitted) and τ² their spread beyond sampling (the reference's own
    drift over time). A window without drift has a mean error between the reference's in-sample
    mean μ_in (rows the PCA was fitted on: a first-window reference judged against itself) and its
    cross-fitted mean μ (rows it never saw), so the band is [min − 3·se(n), max + 3·se(n)] of the
    two. With 10 equal chunks, n = c and μ_in = μ it is NannyML's.

    Examples
    --------
    >>> f = {"reference": {"n": 1000, "mean": 1.0, "mean_in_sample": 0.99, "m2": 1000 * 0.25,
    ...                    "chunk_rows": 100.0, "chunk_means": [0.95, 1.05] * 5}}
    >>> [round(v, 3) for v in band(f, 100)]
    [0.832, 1.158, 0.053]
    """
    ref = fit["reference"]
    var = ref["m2"] / max(ref["n"] - 1, 1)
    means = ref["chunk_means"]
    between = statistics.variance(means) if len(means) > 1 else 0.0
    tau2 = max(0.0, between - var / ref["chunk_rows"])
    se = math.sqrt(var / max(n, 1) + tau2)
    low, high = sorted((ref["mean"], ref.get("mean_in_sample", ref["mean"])))
    return low - Z * se, high + Z * se, se


@dataclass(frozen=True)
class Verdict:
    verdict: str  # drift, no_drift, insufficient_data
    severity: str | None
    effect_ratio: float | None
    statistics: dict[str, Any]


def judge(
    fit: Mapping[str, Any], window: Mapping[str, Any] | None, min_rows: int, medium: float, high: float
) -> Verdict:
    """The window's verdict: drift when its mean error is outside :func:`band`.

    ``effect_ratio`` is the distance of the mean error from the reference's over the band's
    half-width (≥ 1: flagged); severity tiers as the univariate verdicts' (``medium``, ``high``).
    """
    n = int(window["n"]) if window else 0
    ref = fit["reference"]
    stats: dict[str, Any] = {
        "rows": n,
        "rows_ref": ref["n"],
        "reconstruction_error_ref": ref["mean"],
        "components": fit["n_components"],
        "explained_variance": fit["explained_variance"],
    }
    if window is None or n < min_rows:
        return Verdict("insufficient_data", None, None, stats)
    lower, upper, se = band(fit, n)
    mean = float(window["mean"])
    # the distance from the band's centre interval over its half-width: 1 at the band's edge
    low, high = lower + Z * se, upper - Z * se
    distance = low - mean if mean < low else mean - high if mean > high else 0.0
    ratio = distance / (Z * se) if se > 0 else (math.inf if distance > 0 else 0.0)
    stats.update(
        reconstruction_error=mean,
        reconstruction_error_std=math.sqrt(window["m2"] / max(n - 1, 1)),
        lower_threshold=lower,
        upper_threshold=upper,
        standard_error=se,
        contributions=contributions(fit, window),
    )
    if ratio < 1:
        return Verdict("no_drift", None, ratio, stats)
    severity = "high" if ratio >= high else "medium" if ratio >= medium else "low"
    return Verdict("drift", severity, ratio, stats)


def contributions(fit: Mapping[str, Any], window: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per feature: its mean squared residual in the reference and in the window, and its share of the
    change of the total (the sum over features of the changes in the direction of the total's)."""
    n = max(int(window["n"]), 1)
    ref = fit["reference"]["contributions"]
    cur = [s / n for s in window["sq"]]
    deltas = [c - r for c, r in zip(cur, ref)]
    total = sum(deltas)
    sign = 1.0 if total >= 0 else -1.0
    moved = sum(max(sign * d, 0.0) for d in deltas) or 1.0
    out = [
        {"feature": f, "ref": r, "cur": c, "share": max(sign * d, 0.0) / moved}
        for f, r, c, d in zip(fit["features"], ref, cur, deltas)
    ]
    return sorted(out, key=lambda item: (-item["share"], item["feature"]))
