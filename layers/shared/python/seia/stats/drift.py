"""Every drift statistic of one feature in one window, and the effect sizes the verdicts judge.

The effect sizes are the drift metrics of :mod:`seia.registry`: each registered metric names the
kinds of feature it applies to and a function of a :class:`Comparison` (below, for the built-in
ones). :func:`numeric_drift` and :func:`categorical_drift` evaluate every metric registered for
their kind into ``effects``, which :func:`~seia.stats.verdicts.judge_window` compares with the
thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .categorical import MIN_EXPECTED, Cells, Chi2Result, aligned_counts, chi2_of_cells, pooled_cells, unseen_share
from .divergence import PSI_EPSILON, js_distance, psi
from .missing import MissingRateChange, missing_rate_change
from .numeric import (
    DEFAULT_COARSE_BINS,
    Binned,
    KSResult,
    cdf_gap,
    coarse_counts,
    ks_result,
    ks_test,
    wasserstein_distance,
)
from .sketches import CategoricalSketch, NumericSketch
from .special import chi2_isf

NUMERIC, CATEGORICAL = "numeric", "categorical"
CHANCE_LEVEL = 1e-6
"""Probability, for a window without drift, that a binned effect reaches its chance level (χ² approximation)."""


@dataclass(frozen=True)
class Pooled:
    """What a categorical comparison reads from every category, computed elsewhere (the engine's numpy
    version, ``seia_drift.stats.batch.pooled``, kept equal to :class:`Comparison`'s own by a test).

    Attributes
    ----------
    distributions : (tuple of int, tuple of int)
        :attr:`Comparison.distributions`.
    cells : Cells
        :attr:`Comparison.cells`.
    js_distance, psi : float
        :func:`~seia.stats.divergence.js_distance` and :func:`psi_effect`'s PSI of the cells.
    """

    distributions: tuple[tuple[int, ...], tuple[int, ...]]
    cells: Cells
    js_distance: float
    psi: float


class Comparison:
    """A reference and a current sketch of one feature, with what several metrics share computed once.

    Parameters
    ----------
    ref, cur : NumericSketch or CategoricalSketch
        Sketches of the same kind (numeric ones on the same edges).
    n_bins : int, default 10
        Coarse reference-quantile bins of a numeric feature for PSI and Jensen–Shannon.
    psi_eps : float, default 1e-4
        Proportion used for empty bins in PSI.
    binned : Binned or Pooled, optional
        The bucket-level quantities of a numeric pair (KS statistic, Wasserstein, coarse bins of
        `n_bins`), or the category-level ones of a categorical pair, when computed already;
        otherwise computed here.

    Attributes
    ----------
    kind : str
        ``"numeric"`` or ``"categorical"``.
    comparable : bool
        Both sketches hold a value (distribution statistics are NaN otherwise).

    Examples
    --------
    >>> c = Comparison(CategoricalSketch({"a": 9, "b": 1}), CategoricalSketch({"a": 5, "c": 5}))
    >>> c.kind, c.distributions
    ('categorical', ((9, 1, 0), (5, 0, 5)))
    """

    def __init__(
        self,
        ref: NumericSketch | CategoricalSketch,
        cur: NumericSketch | CategoricalSketch,
        n_bins: int = DEFAULT_COARSE_BINS,
        psi_eps: float = PSI_EPSILON,
        binned: Binned | Pooled | None = None,
    ) -> None:
        if isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch):
            if ref.edges is not cur.edges and ref.edges != cur.edges:
                raise ValueError("ref and cur must be NumericSketch on the same edges")
            self.kind = NUMERIC
        elif isinstance(ref, CategoricalSketch) and isinstance(cur, CategoricalSketch):
            self.kind = CATEGORICAL
        else:
            raise ValueError("ref and cur must be two NumericSketch or two CategoricalSketch")
        self.ref, self.cur, self.n_bins, self.psi_eps = ref, cur, n_bins, psi_eps
        self.comparable = ref.n > 0 and cur.n > 0
        if isinstance(binned, Binned):
            if self.kind != NUMERIC or not self.comparable or n_bins != DEFAULT_COARSE_BINS:
                raise ValueError("binned quantities are those of two non-empty numeric sketches, on the default bins")
            self.__dict__["distributions"] = binned.coarse  # the cached properties below, given
            self.__dict__["ks"] = ks_result(binned.ks_statistic, ref.n, cur.n)
            self.__dict__["wasserstein"] = binned.wasserstein
        elif isinstance(binned, Pooled):
            if self.kind != CATEGORICAL or not self.comparable or psi_eps != PSI_EPSILON:
                raise ValueError("pooled quantities are those of two non-empty categorical sketches, default PSI")
            self.__dict__["distributions"] = binned.distributions
            self.__dict__["cells"] = binned.cells
            self.__dict__["js"] = binned.js_distance
            self.__dict__["psi"] = binned.psi

    @cached_property
    def distributions(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Aligned reference and current counts: coarse bins (numeric) or the union of categories."""
        if isinstance(self.ref, NumericSketch) and isinstance(self.cur, NumericSketch):
            return coarse_counts(self.ref, self.cur, self.n_bins)
        if isinstance(self.ref, CategoricalSketch) and isinstance(self.cur, CategoricalSketch):
            _, r, c = aligned_counts(self.ref, self.cur)
            return r, c
        raise AssertionError("unreachable")

    @cached_property
    def cells(self) -> Cells:
        """:attr:`distributions` with the cells expected fewer than 5 times in this window pooled.

        JS, PSI and χ² judge these cells, so a category too rare to be seen at the window's size
        neither weighs on them as an empty cell nor makes them unreliable
        (:func:`~seia.stats.categorical.pooled_cells`).
        """
        return pooled_cells(*self.distributions, min_expected=MIN_EXPECTED)

    @cached_property
    def too_sparse(self) -> bool:
        """The window is too small for the feature's categories (or bins): pooling left one cell.

        A reference with a single category is not too sparse: it has no distribution to compare.
        """
        if not self.comparable:
            return False
        return len(self.cells.ref) < 2 and sum(1 for v in self.distributions[0] if v > 0) >= 2

    @cached_property
    def chance_divergence(self) -> float:
        """The χ²-divergence :math:`\\sum_k (c_k - r_k)^2 / r_k` that chance alone reaches at these sizes.

        Notes
        -----
        Without drift, :math:`D = \\sum_k (c_k - r_k)^2 / r_k` over the :math:`J` pooled cells is
        about :math:`\\chi^2_{J-1} (1/n + 1/N_\\mathrm{ref})` (current and reference proportions
        both sampled). Its chance level is the upper :data:`CHANCE_LEVEL` quantile of that law:
        NaN when fewer than two cells are left.

        Examples
        --------
        >>> ref = CategoricalSketch({k: 1000 for k in "abcde"})
        >>> small = Comparison(ref, CategoricalSketch({k: 20 for k in "abcde"}))
        >>> large = Comparison(ref, CategoricalSketch({k: 2000 for k in "abcde"}))
        >>> round(small.chance_divergence, 3), round(large.chance_divergence, 4)
        (0.34, 0.01)
        """
        dof = len(self.cells.ref) - 1
        if not self.comparable or dof < 1:
            return math.nan
        return chi2_isf(CHANCE_LEVEL, dof) * (1.0 / self.cur.n + 1.0 / self.ref.n)

    @cached_property
    def gap(self) -> list[float]:
        """CDF gap at the edges (numeric only)."""
        assert isinstance(self.ref, NumericSketch) and isinstance(self.cur, NumericSketch)
        return cdf_gap(self.ref, self.cur)

    @cached_property
    def ks(self) -> KSResult:
        assert isinstance(self.ref, NumericSketch) and isinstance(self.cur, NumericSketch)
        return ks_test(self.ref, self.cur, self.gap) if self.comparable else KSResult(math.nan, math.nan)

    @cached_property
    def chi2(self) -> Chi2Result:
        assert isinstance(self.ref, CategoricalSketch) and isinstance(self.cur, CategoricalSketch)
        if not self.comparable:
            return Chi2Result(math.nan, math.nan, 0, 0)
        return chi2_of_cells(self.cells)  # chi2_test(ref, cur, MIN_EXPECTED), on the cells already pooled

    @cached_property
    def wasserstein(self) -> float:
        assert isinstance(self.ref, NumericSketch) and isinstance(self.cur, NumericSketch)
        return wasserstein_distance(self.ref, self.cur, self.gap) if self.comparable else math.nan

    @cached_property
    def js(self) -> float:
        """Jensen–Shannon distance of :attr:`cells` (see :func:`js_effect`)."""
        return js_distance(self.cells.ref, self.cells.cur)

    @cached_property
    def psi(self) -> float:
        """PSI of :attr:`cells`, an empty current cell counted as half a row (see :func:`psi_effect`)."""
        return psi(self.cells.ref, [v if v > 0 else 0.5 for v in self.cells.cur], eps=self.psi_eps)

    @cached_property
    def missing(self) -> MissingRateChange:
        return missing_rate_change(self.ref, self.cur)


# -- the built-in effect sizes (registered in seia.registry) -----------------------------------------------
def wasserstein_normed(c: Comparison) -> float:
    """Wasserstein-1 distance in reference standard deviations.

    Notes
    -----
    :math:`W_\\mathrm{normed} = W_1 / s_\\mathrm{ref}`; when the reference standard deviation is zero
    it is 0 for :math:`W_1 = 0` and :math:`+\\infty` otherwise; NaN below two reference values.

    Examples
    --------
    >>> e = (1.0, 2.0, 3.0)
    >>> a, b = NumericSketch.from_values([1.5, 2.5], e), NumericSketch.from_values([2.5, 3.5], e)
    >>> round(wasserstein_normed(Comparison(a, b)), 6)
    1.414214
    """
    if not c.comparable:
        return math.nan
    std_ref = c.ref.std() if isinstance(c.ref, NumericSketch) else math.nan
    if std_ref > 0:
        return c.wasserstein / std_ref
    if c.ref.n >= 2:
        return 0.0 if c.wasserstein == 0 else math.inf
    return math.nan


def js_effect(c: Comparison) -> float:
    """Jensen–Shannon distance (base 2) of :attr:`Comparison.cells`, NaN when not comparable or too sparse.

    Examples
    --------
    >>> ref = CategoricalSketch({"a": 500, "b": 300, "c": 150, "d": 50})
    >>> round(js_effect(Comparison(ref, CategoricalSketch({"a": 60, "b": 20, "c": 15, "d": 5}))), 4)
    0.1027
    """
    if not c.comparable or c.too_sparse:
        return math.nan
    return c.js


def psi_effect(c: Comparison) -> float:
    """Population stability index of :attr:`Comparison.cells`, NaN when not comparable or too sparse.

    Notes
    -----
    An empty current cell counts half a row (a cell expected at least 5 times is empty by chance
    with probability up to :math:`e^{-5}`, and :math:`\\varepsilon = 10^{-4}` would then weigh
    :math:`r \\ln(r / \\varepsilon)`, more than the threshold at small n); a cell empty in the
    reference keeps `psi_eps`.

    Examples
    --------
    >>> ref = CategoricalSketch({"a": 500, "b": 300, "c": 150, "d": 50})
    >>> round(psi_effect(Comparison(ref, CategoricalSketch({"a": 60, "b": 25, "c": 15}))), 4)
    0.1307
    """
    if not c.comparable or c.too_sparse:
        return math.nan
    return c.psi


def js_chance(c: Comparison) -> float:
    """Jensen–Shannon distance chance alone reaches at the window's size (:attr:`Comparison.chance_divergence`).

    Notes
    -----
    For small differences the JS divergence is :math:`D / 8` nats, so the distance (base 2) is
    :math:`\\sqrt{D / (8 \\ln 2)}`.

    Examples
    --------
    >>> ref = CategoricalSketch({k: 1000 for k in "abcdefghijklmnopqrst"})
    >>> [round(js_chance(Comparison(ref, CategoricalSketch({k: n // 20 for k in ref.counts}))), 3)
    ...  for n in (100, 1000, 10000)]
    [0.34, 0.11, 0.042]
    """
    d = c.chance_divergence
    return min(1.0, math.sqrt(d / (8.0 * math.log(2.0)))) if d >= 0 else math.nan


def psi_chance(c: Comparison) -> float:
    """PSI chance alone reaches at the window's size: :attr:`Comparison.chance_divergence` (PSI ≈ D)."""
    return c.chance_divergence


def unseen_effect(c: Comparison) -> float:
    """Share of current values in categories absent from the reference (categorical)."""
    if isinstance(c.ref, CategoricalSketch) and isinstance(c.cur, CategoricalSketch):
        return unseen_share(c.ref, c.cur)
    return math.nan


def missing_increase(c: Comparison) -> float:
    """Change of the missing-value rate (negative for a decrease, never flagged)."""
    return c.missing.change


def _effect(effects: Mapping[str, float], name: str, compute: Callable[[Comparison], float], c: Comparison) -> float:
    """A registered metric's value, or `compute` when it is not registered (computed only then)."""
    return float(effects[name]) if name in effects else float(compute(c))


def _effects(c: Comparison) -> tuple[dict[str, float], dict[str, float]]:
    """Every registered metric of the comparison's kind, and the chance level of those that have one."""
    from seia.registry import REGISTRY  # the registry names the metrics and imports this module

    metrics = REGISTRY.metrics_for(c.kind)
    effects = {m.name: float(m.compute(c)) for m in metrics}
    chance = {m.name: float(m.chance(c)) for m in metrics if m.chance is not None and c.comparable}
    return effects, chance


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
        See :func:`~seia.stats.numeric.ks_test`.
    wasserstein, wasserstein_normed : float
        See :func:`~seia.stats.numeric.wasserstein_distance`; the second is divided by the
        reference std.
    psi, js_distance : float
        On the coarse reference-quantile bins of :func:`~seia.stats.numeric.coarse_counts`.
    mean_ref, mean_cur, std_ref, std_cur : float
        Moments from the sketches.
    missing : MissingRateChange
        Missing-value rates.
    effects : mapping of str to float
        Every registered metric for numeric features (NaN when undefined).
    chance : mapping of str to float
        Chance level at the window's size of the metrics that have one (see :attr:`Comparison.cells`).
    too_sparse : bool
        The window is too small for the bins (one cell left after pooling).

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
    effects: Mapping[str, float] = field(default_factory=dict, compare=False)
    chance: Mapping[str, float] = field(default_factory=dict, compare=False)
    too_sparse: bool = field(default=False, compare=False)

    @property
    def pvalue(self) -> float:
        """p-value of the distribution test (KS)."""
        return self.ks_pvalue


@dataclass(frozen=True)
class CategoricalDrift:
    """All drift statistics of one categorical feature for one window.

    Attributes
    ----------
    n_ref, n_cur, rows_ref, rows_cur : int
        Non-missing values and rows of each sketch.
    chi2_statistic, chi2_pvalue : float
        See :func:`~seia.stats.categorical.chi2_test`.
    js_distance, psi : float
        Over the union of categories.
    unseen_share : float
        See :func:`~seia.stats.categorical.unseen_share`.
    missing : MissingRateChange
        Missing-value rates.
    effects : mapping of str to float
        Every registered metric for categorical features (NaN when undefined).
    chance : mapping of str to float
        Chance level at the window's size of JS and PSI (see :attr:`Comparison.chance_divergence`).
    too_sparse : bool
        The window is too small for the feature's number of categories.

    Distribution statistics are NaN when either sketch has no value.
    """

    n_ref: int
    n_cur: int
    rows_ref: int
    rows_cur: int
    chi2_statistic: float
    chi2_pvalue: float
    js_distance: float
    psi: float
    unseen_share: float
    missing: MissingRateChange
    effects: Mapping[str, float] = field(default_factory=dict, compare=False)
    chance: Mapping[str, float] = field(default_factory=dict, compare=False)
    too_sparse: bool = field(default=False, compare=False)

    @property
    def pvalue(self) -> float:
        """p-value of the distribution test (χ²)."""
        return self.chi2_pvalue


def numeric_drift(
    ref: NumericSketch,
    cur: NumericSketch,
    n_bins: int = DEFAULT_COARSE_BINS,
    psi_eps: float = PSI_EPSILON,
    binned: Binned | None = None,
) -> NumericDrift:
    """Every drift statistic of a numeric feature, reference against current window.

    Parameters
    ----------
    ref, cur : NumericSketch
        Sketches on the same edges.
    n_bins : int, default 10
        Coarse bins for PSI and Jensen–Shannon (:func:`~seia.stats.numeric.coarse_counts`).
    psi_eps : float, default 1e-4
        Proportion used for empty coarse bins in PSI.
    binned : Binned, optional
        The pair's bucket-level quantities, computed already (see :class:`Comparison`).

    Returns
    -------
    NumericDrift
        Distribution statistics are NaN when either sketch has no value.

    Raises
    ------
    ValueError
        If the sketches differ in edges.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(0)
    >>> edges = tuple(i / 10 for i in range(-30, 31))
    >>> x = NumericSketch.from_values([rng.gauss(0, 1) for _ in range(5000)], edges)
    >>> y = NumericSketch.from_values([rng.gauss(0.5, 1) for _ in range(5000)], edges)
    >>> d = numeric_drift(x, y)
    >>> round(d.wasserstein_normed, 1), d.ks_pvalue < 1e-6
    (0.5, True)
    """
    if not isinstance(ref, NumericSketch) or not isinstance(cur, NumericSketch):
        raise ValueError("ref and cur must be NumericSketch on the same edges")
    c = Comparison(ref, cur, n_bins, psi_eps, binned)
    effects, chance = _effects(c)
    comparable = c.comparable
    return NumericDrift(
        n_ref=ref.n,
        n_cur=cur.n,
        rows_ref=ref.rows,
        rows_cur=cur.rows,
        ks_statistic=c.ks.statistic,
        ks_pvalue=c.ks.pvalue,
        wasserstein=c.wasserstein,
        wasserstein_normed=_effect(effects, "wasserstein_normed", wasserstein_normed, c),
        psi=_effect(effects, "psi", psi_effect, c) if comparable else math.nan,
        js_distance=_effect(effects, "js_distance", js_effect, c) if comparable else math.nan,
        mean_ref=ref.mean_or_nan(),
        mean_cur=cur.mean_or_nan(),
        std_ref=ref.std(),
        std_cur=cur.std(),
        missing=c.missing,
        effects=effects,
        chance=chance,
        too_sparse=c.too_sparse,
    )


def categorical_drift(
    ref: CategoricalSketch, cur: CategoricalSketch, psi_eps: float = PSI_EPSILON, pooled: Pooled | None = None
) -> CategoricalDrift:
    """Every drift statistic of a categorical feature, reference against current window.

    Parameters
    ----------
    ref, cur : CategoricalSketch
        Sketches of the reference and the current window.
    psi_eps : float, default 1e-4
        Proportion used for categories empty on one side in PSI.
    pooled : Pooled, optional
        The pair's category-level quantities, computed already (see :class:`Comparison`).

    Returns
    -------
    CategoricalDrift
        Distribution statistics are NaN when either sketch has no value.

    Notes
    -----
    Jensen–Shannon and PSI run over the union of categories, the categories expected fewer than 5
    times in the window pooled into one cell (:attr:`Comparison.cells`): a category unseen in the
    reference lands there, and weighs in PSI by the pooled cell's growth.

    Examples
    --------
    >>> d = categorical_drift(CategoricalSketch({"a": 900, "b": 100}), CategoricalSketch({"a": 50, "c": 50}))
    >>> d.unseen_share, round(d.js_distance, 3), d.chi2_pvalue < 1e-10
    (0.5, 0.383, True)
    """
    if not isinstance(ref, CategoricalSketch) or not isinstance(cur, CategoricalSketch):
        raise ValueError("ref and cur must be CategoricalSketch")
    c = Comparison(ref, cur, psi_eps=psi_eps, binned=pooled)
    effects, chance = _effects(c)
    return CategoricalDrift(
        n_ref=ref.n,
        n_cur=cur.n,
        rows_ref=ref.rows,
        rows_cur=cur.rows,
        chi2_statistic=c.chi2.statistic,
        chi2_pvalue=c.chi2.pvalue,
        js_distance=_effect(effects, "js_distance", js_effect, c),
        psi=_effect(effects, "psi", psi_effect, c),
        unseen_share=unseen_share(ref, cur),
        missing=c.missing,
        effects=effects,
        chance=chance,
        too_sparse=c.too_sparse,
    )


def column_drift(
    ref: NumericSketch | CategoricalSketch, cur: NumericSketch | CategoricalSketch
) -> NumericDrift | CategoricalDrift:
    """:func:`numeric_drift` or :func:`categorical_drift`, by the sketches' kind."""
    if isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch):
        return numeric_drift(ref, cur)
    if isinstance(ref, CategoricalSketch) and isinstance(cur, CategoricalSketch):
        return categorical_drift(ref, cur)
    raise ValueError("ref and cur must be two NumericSketch or two CategoricalSketch")


def drift_statistics(
    drift: NumericDrift | CategoricalDrift,
    ref: NumericSketch | CategoricalSketch,
    cur: NumericSketch | CategoricalSketch,
) -> dict[str, Any]:
    """What the API shows of a feature's drift (NaN kept; callers turn it into null).

    Examples
    --------
    >>> ref, cur = CategoricalSketch({"a": 3}), CategoricalSketch({"a": 1, "b": 1})
    >>> s = drift_statistics(categorical_drift(ref, cur), ref, cur)
    >>> s["unseen_share"], s["rows_cur"], sorted(k for k in s if k.endswith("_chance"))
    (0.5, 2, ['js_distance_chance', 'psi_chance'])
    """
    m = drift.missing
    out: dict[str, Any] = {
        "n_ref": drift.n_ref,
        "n_cur": drift.n_cur,
        "rows_ref": drift.rows_ref,
        "rows_cur": drift.rows_cur,
        "missing_rate_ref": m.rate_ref,
        "missing_rate_cur": m.rate_cur,
    }
    for metric, level in drift.chance.items():
        out[f"{metric}_chance"] = level
    if isinstance(drift, CategoricalDrift):
        out.update(
            chi2_statistic=drift.chi2_statistic,
            chi2_pvalue=drift.chi2_pvalue,
            js_distance=drift.js_distance,
            psi=drift.psi,
            unseen_share=drift.unseen_share,
        )
    else:
        for name in (
            "ks_statistic",
            "ks_pvalue",
            "wasserstein",
            "wasserstein_normed",
            "psi",
            "js_distance",
            "mean_ref",
            "mean_cur",
            "std_ref",
            "std_cur",
        ):
            out[name] = getattr(drift, name)
        assert isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch)
        out["min_cur"], out["max_cur"] = cur.min, cur.max
        out["min_ref"], out["max_ref"] = ref.min, ref.max
    return out
