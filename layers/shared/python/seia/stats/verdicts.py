"""Drift verdicts for the features of one window, sized to the number of rows.

The thresholds, their defaults and their valid ranges are those of :mod:`seia.registry`: one entry
per drift metric (its effect-size threshold) plus the test settings (``alpha``, ``min_rows``) and
the severity factors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass
from typing import Any

from .drift import CategoricalDrift, NumericDrift
from .multiple_testing import benjamini_hochberg

DRIFT, NO_DRIFT, INSUFFICIENT_DATA = "drift", "no_drift", "insufficient_data"
LOW, MEDIUM, HIGH = "low", "medium", "high"
DISTRIBUTION, MISSING_RATE = "distribution", "missing_rate"
_TEST_SETTINGS = ("alpha", "medium_factor", "high_factor")


class Thresholds:
    """Effect-size thresholds and test settings of the drift verdicts.

    Parameters
    ----------
    alpha : float, optional
        False discovery rate for the Benjamini–Hochberg adjusted p-values.
    min_rows : int, optional
        Fewer current (or reference) rows give ``insufficient_data``; fewer non-missing current
        values leave only the missing-rate check.
    medium_factor, high_factor : float, optional
        Severity tiers, as multiples of the threshold.
    **effects : float
        Threshold of each drift metric by name (``psi=0.25``, ...).

    Every value left out takes its default from :mod:`seia.registry` (``min_rows`` the top-level
    setting, the others ``thresholds.<name>``), and every value is checked against its range there.

    Attributes
    ----------
    effects : mapping of str to float
        Threshold of every registered metric; ``t.psi`` reads ``t.effects["psi"]``.

    Raises
    ------
    ValueError
        On an unknown metric, a value out of its registered range, or factors that are not
        ``1 < medium_factor < high_factor``.

    Examples
    --------
    >>> Thresholds(psi=0.25).psi
    0.25
    >>> Thresholds(alpha=0)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a number > 0 and < 1, got 0
    """

    __slots__ = ("alpha", "effects", "high_factor", "medium_factor", "min_rows")

    effects: Mapping[str, float]
    alpha: float
    min_rows: int
    medium_factor: float
    high_factor: float

    def __init__(
        self,
        *,
        alpha: float | None = None,
        min_rows: int | None = None,
        medium_factor: float | None = None,
        high_factor: float | None = None,
        **effects: float,
    ) -> None:
        from seia.registry import REGISTRY  # the registry imports the statistics core

        given: dict[str, Any] = {k: v for k, v in effects.items()}
        for name, value in (("alpha", alpha), ("medium_factor", medium_factor), ("high_factor", high_factor)):
            if value is not None:
                given[name] = value
        problems = REGISTRY.problems({"thresholds": given, **({} if min_rows is None else {"min_rows": min_rows})})
        if problems:
            field, message = problems[0]
            name = field.split(".", 1)[-1]
            value = min_rows if field == "min_rows" else given.get(name)
            raise ValueError(f"{name} {message}, got {value!r}")
        resolved = REGISTRY.resolve({"thresholds": given, "min_rows": min_rows})
        metric_names = [m.name for m in REGISTRY.metrics()]
        object.__setattr__(self, "effects", {k: float(resolved[f"thresholds.{k}"]) for k in metric_names})
        object.__setattr__(self, "alpha", float(resolved["thresholds.alpha"]))
        object.__setattr__(self, "medium_factor", float(resolved["thresholds.medium_factor"]))
        object.__setattr__(self, "high_factor", float(resolved["thresholds.high_factor"]))
        object.__setattr__(self, "min_rows", int(resolved["min_rows"]))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> Thresholds:
        """The thresholds of a model's stored settings (``thresholds`` and ``min_rows``).

        Examples
        --------
        >>> t = Thresholds.from_settings({"thresholds": {"psi": 0.3}, "min_rows": 50})
        >>> t.psi, t.min_rows
        (0.3, 50)
        """
        s = settings or {}
        return cls(**dict(s.get("thresholds") or {}), min_rows=s.get("min_rows"))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __getattr__(self, name: str) -> float:
        effects = object.__getattribute__(self, "effects")
        if name in effects:
            return float(effects[name])
        raise AttributeError(name)

    def _key(self) -> tuple[Any, ...]:
        return (tuple(sorted(self.effects.items())), self.alpha, self.min_rows, self.medium_factor, self.high_factor)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Thresholds) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        effects = ", ".join(f"{k}={v!r}" for k, v in self.effects.items())
        return (
            f"Thresholds({effects}, alpha={self.alpha!r}, min_rows={self.min_rows!r}, "
            f"medium_factor={self.medium_factor!r}, high_factor={self.high_factor!r})"
        )

    def threshold(self, metric: str) -> float:
        """Threshold of one metric by name."""
        return float(self.effects[metric])


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
        Metric with the largest effect ratio (e.g. ``"psi"``).
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


def severity(ratio: float, t: Thresholds) -> str:
    """Severity tier of an effect ratio: high from ``high_factor``, medium from ``medium_factor``.

    Examples
    --------
    >>> severity(1.2, Thresholds()), severity(2.0, Thresholds()), severity(9.0, Thresholds())
    ('low', 'medium', 'high')
    """
    if ratio >= t.high_factor:
        return HIGH
    return MEDIUM if ratio >= t.medium_factor else LOW


def bar(metric: str, drift: NumericDrift | CategoricalDrift, t: Thresholds) -> float:
    """The value a metric must reach for drift: its threshold, or its chance level at the window's size if higher.

    Examples
    --------
    >>> from seia.stats import CategoricalSketch, categorical_drift
    >>> ref = CategoricalSketch({k: 1000 for k in "abcdefghij"})
    >>> small = categorical_drift(ref, CategoricalSketch({k: 20 for k in "abcdefghij"}))
    >>> large = categorical_drift(ref, CategoricalSketch({k: 200 for k in "abcdefghij"}))
    >>> round(bar("js_distance", small, Thresholds()), 3), bar("js_distance", large, Thresholds())
    (0.203, 0.1)
    """
    threshold = t.threshold(metric)
    chance = drift.chance.get(metric, math.nan)
    return chance if chance > threshold else threshold


def _insufficient(drift: NumericDrift | CategoricalDrift, t: Thresholds) -> bool:
    """Too few rows in either window, or too few for the feature's categories."""
    return drift.rows_cur < t.min_rows or drift.rows_ref < t.min_rows or drift.too_sparse


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
    A feature with fewer than ``min_rows`` rows in the current or the reference window, or whose
    window is too small for its categories (one cell left once the cells expected fewer than 5
    times are pooled), is ``insufficient_data`` and stays out of the test family. The others contribute a missing-rate
    p-value and, with at least ``min_rows`` non-missing current values, a distribution p-value (KS
    for numeric, χ² for categorical). All of them are adjusted together with Benjamini–Hochberg
    into :math:`q`. A signal is flagged when

    .. math:: \\rho = \\max_s \\frac{\\mathrm{effect}_s}{\\max(\\mathrm{threshold}_s, \\mathrm{chance}_s(n))} \\ge 1
       \\quad \\text{and} \\quad q < \\alpha,

    the maximum running over the signal's registered metrics (distribution: Wasserstein-normed,
    JS and PSI for numeric, JS, PSI and unseen share for categorical; missing rate: its increase,
    decreases are never flagged). JS and PSI are biased upwards at small n (without drift, about
    :math:`\\chi^2_{J-1}(1/n + 1/N)` and an eighth of it in nats): their chance level
    :math:`\\mathrm{chance}_s(n)` is the value they reach without drift with probability
    :data:`~seia.stats.drift.CHANCE_LEVEL` (:func:`bar`). It falls as :math:`1/n` and is below the
    threshold from a few hundred rows (more with many categories). At large n every q is tiny and
    the effect size decides; at small n the test and the chance level keep noise from being called
    drift. Severity of a drift is the tier of the largest
    flagged :math:`\\rho` (:func:`severity`).

    Examples
    --------
    >>> from seia.stats import CategoricalSketch, categorical_drift
    >>> ref = CategoricalSketch({"a": 5000, "b": 5000})
    >>> window = {"color": categorical_drift(ref, CategoricalSketch({"a": 800, "b": 200})),
    ...           "shape": categorical_drift(ref, CategoricalSketch({"a": 10, "b": 10}))}
    >>> v = judge_window(window)
    >>> v["color"].verdict, v["color"].severity, v["color"].driver, v["shape"].verdict
    ('drift', 'medium', 'js_distance', 'insufficient_data')
    """
    from seia.registry import REGISTRY

    t = thresholds if thresholds is not None else Thresholds()
    family: list[tuple[str, str, float]] = []
    for name, drift in drifts.items():
        if not isinstance(drift, (NumericDrift, CategoricalDrift)):
            raise ValueError(f"feature {name!r}: expected NumericDrift or CategoricalDrift, got {type(drift).__name__}")
        if _insufficient(drift, t):
            continue
        if drift.n_cur >= t.min_rows and drift.n_ref >= t.min_rows and not math.isnan(drift.pvalue):
            family.append((name, DISTRIBUTION, drift.pvalue))
        if not math.isnan(drift.missing.pvalue):
            family.append((name, MISSING_RATE, drift.missing.pvalue))
    qvalues = dict(zip(((n, s) for n, s, _ in family), benjamini_hochberg([p for _, _, p in family]), strict=True))

    verdicts: dict[str, FeatureVerdict] = {}
    for name, drift in drifts.items():
        if _insufficient(drift, t):
            verdicts[name] = FeatureVerdict(name, INSUFFICIENT_DATA, None, (), None, math.nan, math.nan, math.nan)
            continue
        q_of = {
            DISTRIBUTION: qvalues.get((name, DISTRIBUTION), math.nan),
            MISSING_RATE: qvalues.get((name, MISSING_RATE), math.nan),
        }
        ratios: dict[str, dict[str, float]] = {DISTRIBUTION: {}, MISSING_RATE: {}}
        for metric, value in drift.effects.items():
            signal = REGISTRY.metric(metric).signal
            if signal == DISTRIBUTION and (name, DISTRIBUTION) not in qvalues:
                continue
            ratio = value / bar(metric, drift, t)
            if not math.isnan(ratio):
                ratios.setdefault(signal, {})[metric] = ratio
        candidates: dict[str, tuple[str, float]] = {}
        for signal, by_metric in ratios.items():
            if by_metric:
                driver = max(by_metric, key=by_metric.__getitem__)
                candidates[signal] = (driver, by_metric[driver])
        flagged = tuple(s for s, (_, ratio) in candidates.items() if ratio >= 1 and q_of.get(s, math.nan) < t.alpha)
        pool = flagged or tuple(candidates)
        top_driver: str | None = None
        top_ratio = math.nan
        if pool:
            top = max(pool, key=lambda s: candidates[s][1])
            top_driver, top_ratio = candidates[top]
        verdicts[name] = FeatureVerdict(
            feature=name,
            verdict=DRIFT if flagged else NO_DRIFT,
            severity=severity(top_ratio, t) if flagged else None,
            signals=flagged,
            driver=top_driver,
            effect_ratio=float(top_ratio),
            distribution_qvalue=q_of[DISTRIBUTION],
            missing_qvalue=q_of[MISSING_RATE],
        )
    return verdicts
