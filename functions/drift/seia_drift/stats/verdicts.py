"""Drift verdicts for the features of one window, sized to the number of rows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from .categorical import CategoricalDrift
from .multiple_testing import benjamini_hochberg
from .numeric import NumericDrift

DRIFT, NO_DRIFT, INSUFFICIENT_DATA = "drift", "no_drift", "insufficient_data"
LOW, MEDIUM, HIGH = "low", "medium", "high"


@dataclass(frozen=True)
class Thresholds:
    """Effect-size thresholds and test settings of the drift verdicts.

    Parameters
    ----------
    wasserstein_normed : float, default 0.1
        Wasserstein-1 distance in reference standard deviations (numeric).
    js_distance : float, default 0.1
        Jensen–Shannon distance, base 2 (numeric deciles and categorical).
    psi : float, default 0.2
        Population stability index (numeric deciles and categorical).
    unseen_share : float, default 0.05
        Share of current values in categories absent from the reference.
    missing_rate_increase : float, default 0.05
        Increase of the missing-value rate, in absolute share of rows.
    alpha : float, default 0.05
        False discovery rate for the Benjamini–Hochberg adjusted p-values.
    min_rows : int, default 100
        Fewer current (or reference) rows give ``insufficient_data``; fewer
        non-missing current values leave only the missing-rate check.
    medium_factor, high_factor : float, default 2 and 4
        Severity tiers, as multiples of the threshold.

    Raises
    ------
    ValueError
        If a threshold is not positive, a share or distance exceeds 1,
        `alpha` is outside (0, 1), `min_rows` < 1, or the factors are not
        ``1 < medium_factor < high_factor``.

    Examples
    --------
    >>> Thresholds(psi=0.25).psi
    0.25
    >>> Thresholds(alpha=0)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be in (0, 1), got 0
    """

    wasserstein_normed: float = 0.1
    js_distance: float = 0.1
    psi: float = 0.2
    unseen_share: float = 0.05
    missing_rate_increase: float = 0.05
    alpha: float = 0.05
    min_rows: int = 100
    medium_factor: float = 2.0
    high_factor: float = 4.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, got {value!r}")
        for name in ("wasserstein_normed", "js_distance", "psi", "unseen_share", "missing_rate_increase"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("js_distance", "unseen_share", "missing_rate_increase"):
            if getattr(self, name) > 1:
                raise ValueError(f"{name} must be at most 1, got {getattr(self, name)!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if int(self.min_rows) != self.min_rows or self.min_rows < 1:
            raise ValueError(f"min_rows must be an integer >= 1, got {self.min_rows!r}")
        if not 1 < self.medium_factor < self.high_factor:
            raise ValueError("need 1 < medium_factor < high_factor")


@dataclass(frozen=True)
class FeatureVerdict:
    """Drift verdict of one feature in one window.

    Attributes
    ----------
    feature : str
    verdict : str
        ``"drift"``, ``"no_drift"`` or ``"insufficient_data"``.
    severity : str or None
        ``"low"``, ``"medium"`` or ``"high"`` for drift, else None.
    signals : tuple of str
        Flagged signals: ``"distribution"`` and/or ``"missing_rate"``.
    driver : str or None
        Statistic with the largest effect ratio (e.g. ``"psi"``).
    effect_ratio : float
        Largest effect divided by its threshold (NaN for insufficient data).
    distribution_qvalue, missing_qvalue : float
        Benjamini–Hochberg adjusted p-values (NaN when not tested).
    """

    feature: str
    verdict: str
    severity: str | None
    signals: tuple[str, ...]
    driver: str | None
    effect_ratio: float
    distribution_qvalue: float
    missing_qvalue: float


def _distribution_effects(drift, t: Thresholds) -> dict[str, float]:
    if isinstance(drift, NumericDrift):
        ratios = {
            "wasserstein_normed": drift.wasserstein_normed / t.wasserstein_normed,
            "js_distance": drift.js_distance / t.js_distance,
            "psi": drift.psi / t.psi,
        }
    else:
        ratios = {
            "js_distance": drift.js_distance / t.js_distance,
            "psi": drift.psi / t.psi,
            "unseen_share": drift.unseen_share / t.unseen_share,
        }
    return {k: v for k, v in ratios.items() if not math.isnan(v)}


def _severity(ratio: float, t: Thresholds) -> str:
    if ratio >= t.high_factor:
        return HIGH
    return MEDIUM if ratio >= t.medium_factor else LOW


def judge_window(
    drifts: Mapping[str, NumericDrift | CategoricalDrift], thresholds: Thresholds | None = None
) -> dict[str, FeatureVerdict]:
    """Verdict per feature for one window: effect size AND an FDR-controlled test.

    Parameters
    ----------
    drifts : mapping of str to NumericDrift or CategoricalDrift
        Statistics of every feature of the window, reference against current.
    thresholds : Thresholds, optional
        Defaults to ``Thresholds()``.

    Returns
    -------
    dict of str to FeatureVerdict
        In the order of `drifts`.

    Raises
    ------
    ValueError
        If a value is neither a NumericDrift nor a CategoricalDrift.

    Notes
    -----
    A feature with fewer than ``min_rows`` rows in the current or the
    reference window is ``insufficient_data`` and stays out of the test
    family. The others contribute a missing-rate p-value and, with at least
    ``min_rows`` non-missing current values, a distribution p-value (KS for
    numeric, χ² for categorical). All of them are adjusted together with
    Benjamini–Hochberg into :math:`q`. A signal is flagged when

    .. math:: \\rho = \\max_s \\frac{\\mathrm{effect}_s}{\\mathrm{threshold}_s} \\ge 1
       \\quad \\text{and} \\quad q < \\alpha,

    with effects Wasserstein-normed, JS and PSI (numeric), JS, PSI and unseen
    share (categorical), and the missing-rate increase (decreases are never
    flagged). At large n every q is tiny and the effect size decides; at
    small n the test keeps noise from being called drift. Severity of a
    drift is the tier of the largest flagged :math:`\\rho`: high for
    :math:`\\rho \\ge` ``high_factor``, medium for :math:`\\rho \\ge`
    ``medium_factor``, low otherwise.

    Examples
    --------
    >>> from seia_drift.stats.sketches import CategoricalSketch
    >>> from seia_drift.stats.categorical import categorical_drift
    >>> ref = CategoricalSketch({"a": 5000, "b": 5000})
    >>> window = {"color": categorical_drift(ref, CategoricalSketch({"a": 800, "b": 200})),
    ...           "shape": categorical_drift(ref, CategoricalSketch({"a": 10, "b": 10}))}
    >>> v = judge_window(window)
    >>> v["color"].verdict, v["color"].severity, v["color"].driver, v["shape"].verdict
    ('drift', 'medium', 'js_distance', 'insufficient_data')
    """
    t = thresholds if thresholds is not None else Thresholds()
    family: list[tuple[str, str, float]] = []
    for name, drift in drifts.items():
        if not isinstance(drift, (NumericDrift, CategoricalDrift)):
            raise ValueError(f"feature {name!r}: expected NumericDrift or CategoricalDrift, got {type(drift).__name__}")
        if drift.rows_cur < t.min_rows or drift.rows_ref < t.min_rows:
            continue
        pvalue = drift.ks_pvalue if isinstance(drift, NumericDrift) else drift.chi2_pvalue
        if drift.n_cur >= t.min_rows and drift.n_ref >= t.min_rows and not math.isnan(pvalue):
            family.append((name, "distribution", pvalue))
        if not math.isnan(drift.missing.pvalue):
            family.append((name, "missing_rate", drift.missing.pvalue))
    qvalues = dict(zip(((n, s) for n, s, _ in family), benjamini_hochberg([p for _, _, p in family])))

    verdicts: dict[str, FeatureVerdict] = {}
    for name, drift in drifts.items():
        if drift.rows_cur < t.min_rows or drift.rows_ref < t.min_rows:
            verdicts[name] = FeatureVerdict(name, INSUFFICIENT_DATA, None, (), None, math.nan, math.nan, math.nan)
            continue
        candidates: dict[str, tuple[str, float]] = {}
        q_distribution = qvalues.get((name, "distribution"), math.nan)
        q_missing = qvalues.get((name, "missing_rate"), math.nan)
        effects = _distribution_effects(drift, t) if (name, "distribution") in qvalues else {}
        if effects:
            driver = max(effects, key=effects.get)
            candidates["distribution"] = (driver, effects[driver])
        if not math.isnan(drift.missing.change):
            candidates["missing_rate"] = ("missing_rate_increase", drift.missing.change / t.missing_rate_increase)
        q_of = {"distribution": q_distribution, "missing_rate": q_missing}
        flagged = tuple(s for s, (_, ratio) in candidates.items() if ratio >= 1 and q_of[s] < t.alpha)
        pool = flagged or tuple(candidates)
        if pool:
            top = max(pool, key=lambda s: candidates[s][1])
            driver, ratio = candidates[top]
        else:
            driver, ratio = None, math.nan
        verdicts[name] = FeatureVerdict(
            feature=name,
            verdict=DRIFT if flagged else NO_DRIFT,
            severity=_severity(ratio, t) if flagged else None,
            signals=flagged,
            driver=driver,
            effect_ratio=float(ratio),
            distribution_qvalue=q_distribution,
            missing_qvalue=q_missing,
        )
    return verdicts
