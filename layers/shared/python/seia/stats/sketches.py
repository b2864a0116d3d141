"""Mergeable sketches of one feature over one window (an hour, a day, ...).

A sketch holds only mergeable summaries, so the sketch of a range of hours is the merge of the
hourly sketches, and it serialises to a plain JSON-able dict.

Stored format
-------------
A numeric sketch is stored as ``{"kind", "counts", "missing", "mean", "m2", "min", "max"}`` (with
``"edges"`` unless they are stored once per feature). Sketches written before the moments were
kept as count, mean and :math:`M_2` hold ``"total"`` (:math:`\\sum x`) and ``"total_sq"``
(:math:`\\sum x^2`) instead; :meth:`NumericSketch.from_dict` converts them on read
(:math:`\\bar x = \\sum x / n`, :math:`M_2 = \\max(0, \\sum x^2 - \\bar x \\sum x)`), so old rows stay
readable without a migration and carry the precision they were written with.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, repeat
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

_EdgesKey = tuple[float, ...]


def _optional_min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _optional_max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


# Sketches of one feature share one edges tuple: check (and convert) it once, not per sketch.
_EDGES_CHECKED: dict[tuple[Any, ...], _EdgesKey] = {}


def checked_edges(edges: Iterable[float]) -> tuple[float, ...]:
    """`edges` as a tuple of float, checked finite and strictly increasing.

    Raises
    ------
    ValueError
        If `edges` is empty, not finite or not strictly increasing.

    Examples
    --------
    >>> checked_edges([1, 2.5])
    (1.0, 2.5)
    """
    key = edges if type(edges) is tuple else tuple(edges)
    found = _EDGES_CHECKED.get(key)
    if found is not None:
        return found
    converted = tuple(map(float, key))
    if not converted:
        raise ValueError("edges must not be empty")
    if not all(map(math.isfinite, converted)) or any(b <= a for a, b in zip(converted, converted[1:])):
        raise ValueError("edges must be finite and strictly increasing")
    if len(_EDGES_CHECKED) > 4096:
        _EDGES_CHECKED.clear()
    _EDGES_CHECKED[key] = converted
    return converted


def merge_moments(n_a: int, mean_a: float, m2_a: float, n_b: int, mean_b: float, m2_b: float) -> tuple[float, float]:
    """Mean and :math:`M_2` of the union of two samples, by Chan et al.'s parallel formula.

    Parameters
    ----------
    n_a, mean_a, m2_a : int, float, float
        Count, mean and sum of squared deviations :math:`M_2 = \\sum (x - \\bar x)^2` of one sample.
    n_b, mean_b, m2_b : int, float, float
        The same of the other sample.

    Returns
    -------
    (float, float)
        Mean and :math:`M_2` of both samples together; (0, 0) when both are empty.

    Notes
    -----
    With :math:`n = n_a + n_b` and :math:`\\delta = \\bar x_b - \\bar x_a`,

    .. math:: \\bar x = \\bar x_a + \\delta \\frac{n_b}{n}, \\qquad
       M_2 = M_{2,a} + M_{2,b} + \\delta^2 \\frac{n_a n_b}{n}

    (Chan, Golub & LeVeque 1979, as ``river.stats.Var``). Unlike sums of :math:`x` and
    :math:`x^2`, nothing cancels when the mean dwarfs the spread.

    Examples
    --------
    >>> merge_moments(2, 1e8, 2.0, 2, 1e8 + 2, 2.0)
    (100000001.0, 8.0)
    """
    if n_b == 0:
        return mean_a, m2_a
    if n_a == 0:
        return mean_b, m2_b
    n = n_a + n_b
    delta = mean_b - mean_a
    return mean_a + delta * (n_b / n), m2_a + m2_b + delta * delta * (n_a * n_b / n)


def moments_of(values: Sequence[float]) -> tuple[float, float]:
    """Mean and :math:`M_2` of finite values, by two exactly rounded passes.

    Examples
    --------
    >>> moments_of([1e8 + 1, 1e8 - 1])
    (100000000.0, 2.0)
    >>> moments_of([])
    (0.0, 0.0)
    """
    if not values:
        return 0.0, 0.0
    mean = math.fsum(values) / len(values)
    return mean, math.fsum((x - mean) * (x - mean) for x in values)


def _stored_moments(data: Mapping[str, Any], n: int) -> tuple[float, float]:
    """(mean, M2) of a stored numeric sketch, converting the legacy sums (see the module notes)."""
    if n == 0:
        return 0.0, 0.0
    if "m2" in data:
        return float(data["mean"]), float(data["m2"])
    total, total_sq = float(data.get("total") or 0.0), float(data.get("total_sq") or 0.0)
    mean = total / n
    return mean, max(0.0, total_sq - mean * total)


@dataclass(frozen=True)
class NumericSketch:
    """Histogram on fixed reference edges plus mergeable moments.

    Parameters
    ----------
    edges : tuple of float
        Strictly increasing, finite bin edges (``seia_drift.stats.fit_edges``).
    counts : tuple of int
        ``len(edges) + 1`` non-negative bucket counts, bucket convention of :func:`bucket_of`.
    missing : int
        Rows whose value is missing or not finite.
    mean : float
        Mean of the non-missing values, 0 when there is none.
    m2 : float
        Sum of their squared deviations from the mean, :math:`M_2 = \\sum (x - \\bar x)^2 \\ge 0`.
    min, max : float or None
        Extremes of the non-missing values, None when there is none.

    Attributes
    ----------
    n : int
        Number of non-missing values, ``sum(counts)``.
    rows : int
        ``n + missing``.

    Raises
    ------
    ValueError
        On inconsistent fields (length, negative counts or :math:`M_2`, unsorted edges, extremes
        missing for a non-empty sketch, ...).

    Notes
    -----
    Counts and missing rows merge by addition, extremes by min / max and the moments by
    :func:`merge_moments`, so that for windows :math:`A, B` of rows
    :math:`S(A \\cup B) = S(A) \\oplus S(B)`, with exact integer counts. Non-finite values (NaN,
    ±inf) count as missing; the SQL side does the same.

    Examples
    --------
    >>> s = NumericSketch.from_values([1.0, 2.0, 2.5, float("nan")], edges=(2.0,))
    >>> s.counts, s.n, s.missing, round(s.mean, 12), s.min, s.max
    ((1, 2), 3, 1, 1.833333333333, 1.0, 2.5)
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    missing: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float | None = None
    max: float | None = None
    n: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        edges = checked_edges(self.edges)
        counts = tuple(map(int, self.counts))
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "missing", int(self.missing))
        object.__setattr__(self, "mean", float(self.mean))
        object.__setattr__(self, "m2", float(self.m2))
        object.__setattr__(self, "n", sum(counts))
        if len(counts) != len(edges) + 1:
            raise ValueError(f"counts must have len(edges) + 1 = {len(edges) + 1} entries, got {len(counts)}")
        if min(counts) < 0 or self.missing < 0:
            raise ValueError("counts and missing must be non-negative")
        if not (math.isfinite(self.mean) and math.isfinite(self.m2)) or self.m2 < 0:
            raise ValueError("mean must be finite and m2 finite and non-negative")
        if self.n > 0:
            if self.min is None or self.max is None or not self.min <= self.max:
                raise ValueError("a non-empty sketch needs min <= max")
            object.__setattr__(self, "min", float(self.min))
            object.__setattr__(self, "max", float(self.max))
        elif self.min is not None or self.max is not None or self.mean or self.m2:
            raise ValueError("an empty sketch has no extremes and zero moments")

    @classmethod
    def of_counts(
        cls,
        edges: tuple[float, ...],
        counts: list[int],
        missing: int,
        mean: float,
        m2: float,
        lo: float | None,
        hi: float | None,
    ) -> NumericSketch:
        """The sketch of `counts` already known sound, as from numpy (non-negative ``int``, one per bucket of
        `edges`): built without the per-bucket passes of the constructor's checks, the others kept.

        Examples
        --------
        >>> NumericSketch.of_counts((1.0,), [1, 1], 0, 1.0, 2.0, 0.0, 2.0) == NumericSketch.from_values([0, 2], (1.0,))
        True
        """
        checked = checked_edges(edges)
        if len(counts) != len(checked) + 1:
            raise ValueError(f"counts must have len(edges) + 1 = {len(checked) + 1} entries, got {len(counts)}")
        n = sum(counts)
        if not n or missing < 0:
            return cls(checked, tuple(counts), missing, mean, m2, lo, hi)  # every check
        mean, m2 = float(mean), float(m2)
        if not (math.isfinite(mean) and math.isfinite(m2)) or m2 < 0:
            raise ValueError("mean must be finite and m2 finite and non-negative")
        if lo is None or hi is None or not lo <= hi:
            raise ValueError("a non-empty sketch needs min <= max")
        sketch = object.__new__(cls)
        vars(sketch).update(
            edges=checked,
            counts=tuple(counts),
            missing=int(missing),
            mean=mean,
            m2=m2,
            min=float(lo),
            max=float(hi),
            n=n,
        )
        return sketch

    @property
    def rows(self) -> int:
        return self.n + self.missing

    # -- derived quantities, computed on first use and kept on the sketch ---------------------------------------
    # A reference sketch is compared with every window of a run (and of a query): what depends on it alone is
    # computed once. The sketch is immutable, so what is kept on it can neither go stale nor belong to another
    # sketch (a new reference is a new sketch); pickling and copies (``__reduce__``) leave it behind.

    @cached_property
    def cdf(self) -> tuple[float, ...]:
        """:math:`F(e_k^-)`, the share of the values below each edge (ValueError for an empty sketch).

        Examples
        --------
        >>> NumericSketch.from_values([0.5, 1.5, 1.5, 2.5], edges=(1.0, 2.0)).cdf
        (0.25, 0.75)
        """
        if self.n == 0:
            raise ValueError("an empty sketch has no distribution")
        return tuple(map(operator.truediv, accumulate(self.counts[:-1]), repeat(self.n)))

    @cached_property
    def half_widths(self) -> tuple[float, ...]:
        """Half the width of each interior bucket, :math:`(e_k - e_{k-1}) / 2`."""
        edges = self.edges
        return tuple((hi - lo) * 0.5 for lo, hi in zip(edges[:-1], edges[1:]))

    @cached_property
    def midpoints(self) -> tuple[float, ...] | None:
        """The middle :math:`(e_{k-1} + e_k) / 2` of each interior bucket, None where halving the sum of two
        edges would round (subnormal sums): then :math:`c (a + b) / 2` is computed as it stands."""
        edges = self.edges
        sums = [a + b for a, b in zip(edges[:-1], edges[1:])]
        mids = tuple(0.5 * s for s in sums)
        return mids if all(m + m == s for m, s in zip(mids, sums)) else None

    @cached_property
    def derived(self) -> dict[Any, Any]:
        """Other quantities kept on the sketch by the functions that compute them (keyed by their name)."""
        return {}

    @property
    def total(self) -> float:
        """Sum of the non-missing values, :math:`n \\bar x`."""
        return self.n * self.mean

    @classmethod
    def empty(cls, edges: Iterable[float]) -> NumericSketch:
        """Sketch of no rows on `edges`.

        Examples
        --------
        >>> NumericSketch.empty((0.0, 1.0)).counts
        (0, 0, 0)
        """
        checked = checked_edges(edges)
        return cls(edges=checked, counts=(0,) * (len(checked) + 1))

    @classmethod
    def from_values(cls, values: Iterable[Any], edges: Iterable[float]) -> NumericSketch:
        """Sketch raw values on `edges`; None, NaN and ±inf count as missing.

        Pure Python, for a few values; the engine sketches arrays with
        ``seia_drift.stats.sketch_values`` (numpy), which gives the same sketch.

        Notes
        -----
        ``counts[k] = #{x : bucket_of(x) = k}``; mean and :math:`M_2` by :func:`moments_of`.

        Examples
        --------
        >>> NumericSketch.from_values([0.0, None, 7.0], edges=(1.0,)).counts
        (1, 1)
        """
        checked = checked_edges(edges)
        present: list[float] = []
        missing = 0
        for v in values:
            x = math.nan if v is None else float(v)
            if math.isfinite(x):
                present.append(x)
            else:
                missing += 1
        counts = [0] * (len(checked) + 1)
        for x in present:
            counts[bisect_right(checked, x)] += 1
        if not present:
            return cls(edges=checked, counts=tuple(counts), missing=missing)
        mean, m2 = moments_of(present)
        return cls(checked, tuple(counts), missing, mean, m2, min(present), max(present))

    def merge(self, other: NumericSketch) -> NumericSketch:
        """Sketch of the union of both windows' rows.

        Raises
        ------
        ValueError
            If `other` is not a NumericSketch on the same edges.

        Examples
        --------
        >>> a = NumericSketch.from_values([1.0], edges=(2.0,))
        >>> b = NumericSketch.from_values([3.0, 5.0], edges=(2.0,))
        >>> a.merge(b) == NumericSketch.from_values([1.0, 3.0, 5.0], edges=(2.0,))
        True
        """
        if not isinstance(other, NumericSketch) or other.edges != self.edges:
            raise ValueError("can only merge numeric sketches on the same edges")
        mean, m2 = merge_moments(self.n, self.mean, self.m2, other.n, other.mean, other.m2)
        return NumericSketch(
            edges=self.edges,
            counts=tuple(map(operator.add, self.counts, other.counts)),
            missing=self.missing + other.missing,
            mean=mean,
            m2=m2,
            min=_optional_min(self.min, other.min),
            max=_optional_max(self.max, other.max),
        )

    def mean_or_nan(self) -> float:
        """Mean of the non-missing values, NaN when empty.

        Examples
        --------
        >>> NumericSketch.from_values([1.0, 3.0], edges=(2.0,)).mean_or_nan()
        2.0
        """
        return self.mean if self.n else math.nan

    def std(self) -> float:
        """Sample standard deviation (``ddof=1``), NaN below two values.

        Notes
        -----
        :math:`s = \\sqrt{M_2 / (n - 1)}`.

        Examples
        --------
        >>> NumericSketch.from_values([1.0, 3.0], edges=(2.0,)).std()
        1.4142135623730951
        """
        return math.sqrt(self.m2 / (self.n - 1)) if self.n >= 2 else math.nan

    def to_dict(self, include_edges: bool = True) -> dict[str, Any]:
        """Plain JSON-able dict; leave the edges out when they are stored once per feature.

        Examples
        --------
        >>> NumericSketch.from_values([1.0], edges=(2.0,)).to_dict(include_edges=False)
        {'kind': 'numeric', 'counts': [1, 0], 'missing': 0, 'mean': 1.0, 'm2': 0.0, 'min': 1.0, 'max': 1.0}
        """
        data: dict[str, Any] = {"kind": "numeric"}
        if include_edges:
            data["edges"] = list(self.edges)
        data.update(
            counts=list(self.counts), missing=self.missing, mean=self.mean, m2=self.m2, min=self.min, max=self.max
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], edges: Iterable[float] | None = None) -> NumericSketch:
        """Inverse of :meth:`to_dict`; `edges` supplies them when the dict has none.

        Legacy dicts with ``total`` / ``total_sq`` are converted (see the module notes).

        Examples
        --------
        >>> s = NumericSketch.from_values([1.0, 5.0], edges=(2.0,))
        >>> NumericSketch.from_dict(s.to_dict(include_edges=False), edges=(2.0,)) == s
        True
        >>> old = {"counts": [1, 1], "missing": 0, "total": 6.0, "total_sq": 26.0, "min": 1.0, "max": 5.0}
        >>> NumericSketch.from_dict(old, edges=(2.0,)).std()
        2.8284271247461903
        """
        return merge_dicts([data], edges)

    def __reduce__(self) -> tuple[Any, ...]:
        return (NumericSketch, (self.edges, self.counts, self.missing, self.mean, self.m2, self.min, self.max))


def bucket_of(x: float, edges: Sequence[float]) -> int:
    """Bucket index of a finite value, as PostgreSQL ``width_bucket(x, edges)``.

    Notes
    -----
    Bucket :math:`k` holds :math:`e_{k-1} \\le x < e_k`, with :math:`e_{-1} = -\\infty` and
    :math:`e_K = +\\infty` for :math:`K` edges.

    Examples
    --------
    >>> [bucket_of(x, (1.0, 2.0, 3.0)) for x in (0.5, 1.0, 1.5, 3.0)]
    [0, 1, 1, 3]
    """
    return bisect_right(edges, x)


def merge_dicts(items: Iterable[Mapping[str, Any]], edges: Iterable[float] | None = None) -> NumericSketch:
    """One numeric sketch from stored dicts (current or legacy format), merged in order.

    Faster than building a sketch per dict and merging them: the counts are added in place and one
    sketch is checked at the end (the query path merges thousands of hourly sketches per request).

    Parameters
    ----------
    items : iterable of mapping
        Non-empty; ``to_dict`` forms of sketches on the same edges.
    edges : sequence of float, optional
        Used when the dicts carry no ``"edges"``.

    Raises
    ------
    ValueError
        If `items` is empty, a dict is not numeric, or edges or lengths disagree.

    Examples
    --------
    >>> hours = [{"counts": [1, 0], "mean": 1.0, "m2": 0.0, "min": 1.0, "max": 1.0, "missing": 2},
    ...          {"counts": [0, 1], "total": 3.0, "total_sq": 9.0, "min": 3.0, "max": 3.0}]
    >>> s = merge_dicts(hours, edges=(2.0,))
    >>> s.counts, s.missing, s.mean, s.m2
    ((1, 1), 2, 2.0, 2.0)
    """
    counts: list[int] | None = None
    missing = n = 0
    mean = m2 = 0.0
    lo: float | None = None
    hi: float | None = None
    found_edges: Any = None
    for data in items:
        if data.get("kind", "numeric") != "numeric":
            raise ValueError(f"not a numeric sketch: kind={data.get('kind')!r}")
        if found_edges is None:
            found_edges = data.get("edges", edges)
        c = data["counts"]
        if counts is None:
            counts = list(c)
        elif len(c) != len(counts):
            raise ValueError("can only merge numeric sketches on the same edges")
        else:
            counts = list(map(operator.add, counts, c))
        k = sum(c)
        if k:
            mean_b, m2_b = _stored_moments(data, k)
            mean, m2 = merge_moments(n, mean, m2, k, mean_b, m2_b)
            n += k
            lo, hi = _optional_min(lo, data.get("min")), _optional_max(hi, data.get("max"))
        missing += int(data.get("missing") or 0)
    if counts is None:
        raise ValueError("nothing to merge")
    if found_edges is None:
        raise ValueError("edges are neither in the data nor given")
    return NumericSketch(tuple(found_edges), tuple(counts), missing, mean, m2, lo, hi)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class CategoricalSketch:
    """Counts per category and a count of missing rows.

    Parameters
    ----------
    counts : mapping of str to int
        Positive counts per category; zero counts are dropped, keys are kept sorted.
    missing : int
        Rows whose value is missing (None or NaN).

    Raises
    ------
    ValueError
        On negative counts or non-string categories.

    Notes
    -----
    Merging adds the counts category by category, so it is exact and associative:
    :math:`c_k(A \\cup B) = c_k(A) + c_k(B)`.

    Examples
    --------
    >>> s = CategoricalSketch.from_values(["b", "a", "b", None])
    >>> dict(s.counts), s.missing, s.n
    ({'a': 1, 'b': 2}, 1, 3)
    """

    counts: Mapping[str, int]
    missing: int = 0
    n: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        raw = self.counts
        values = raw.values()
        if (
            all(map(isinstance, raw, repeat(str)))
            and set(map(type, values)) <= {int}
            and (not values or min(values) > 0)
        ):
            # the usual case, checked in C-level passes: categories, positive int counts
            object.__setattr__(self, "counts", MappingProxyType(dict(sorted(raw.items()))))
            object.__setattr__(self, "missing", int(self.missing))
            object.__setattr__(self, "n", sum(values))
            if self.missing < 0:
                raise ValueError("missing must be non-negative")
            return
        items = []
        for key, value in self.counts.items():
            if not isinstance(key, str):
                raise ValueError(f"categories must be str, got {key!r}")
            if int(value) < 0:
                raise ValueError(f"negative count for category {key!r}")
            if int(value) > 0:
                items.append((key, int(value)))
        object.__setattr__(self, "counts", MappingProxyType(dict(sorted(items))))
        object.__setattr__(self, "missing", int(self.missing))
        object.__setattr__(self, "n", sum(v for _, v in items))
        if self.missing < 0:
            raise ValueError("missing must be non-negative")

    def __hash__(self) -> int:
        return hash((tuple(self.counts.items()), self.missing))

    @cached_property
    def derived(self) -> dict[Any, Any]:
        """Quantities kept on the sketch by the functions that compute them (see :attr:`NumericSketch.cdf`)."""
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (CategoricalSketch, (dict(self.counts), self.missing))

    @property
    def rows(self) -> int:
        return self.n + self.missing

    @classmethod
    def from_values(cls, values: Iterable[Any]) -> CategoricalSketch:
        """Sketch raw values; None and NaN are missing, anything else is ``str(value)``.

        Examples
        --------
        >>> dict(CategoricalSketch.from_values([1, "1", float("nan")]).counts)
        {'1': 2}
        """
        counts: dict[str, int] = {}
        missing = 0
        for v in values:
            if _is_missing(v):
                missing += 1
            else:
                key = str(v)
                counts[key] = counts.get(key, 0) + 1
        return cls(counts=counts, missing=missing)

    def merge(self, other: CategoricalSketch) -> CategoricalSketch:
        """Sketch of the union of both windows' rows.

        Examples
        --------
        >>> a, b = CategoricalSketch({"x": 1}), CategoricalSketch({"x": 2, "y": 1}, missing=3)
        >>> dict(a.merge(b).counts), a.merge(b).missing
        ({'x': 3, 'y': 1}, 3)
        """
        if not isinstance(other, CategoricalSketch):
            raise ValueError("can only merge a categorical sketch with another one")
        counts = dict(self.counts)
        for key, value in other.counts.items():
            counts[key] = counts.get(key, 0) + value
        return CategoricalSketch(counts=counts, missing=self.missing + other.missing)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict.

        Examples
        --------
        >>> CategoricalSketch({"b": 2, "a": 1}).to_dict()
        {'kind': 'categorical', 'counts': {'a': 1, 'b': 2}, 'missing': 0}
        """
        return {"kind": "categorical", "counts": dict(self.counts), "missing": self.missing}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalSketch:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> s = CategoricalSketch({"a": 1}, missing=2)
        >>> CategoricalSketch.from_dict(s.to_dict()) == s
        True
        """
        return merge_categorical_dicts([data])


def merge_categorical_dicts(items: Iterable[Mapping[str, Any]]) -> CategoricalSketch:
    """One categorical sketch from stored dicts, merged (see :func:`merge_dicts`).

    Raises
    ------
    ValueError
        If a dict is not categorical.

    Examples
    --------
    >>> merge_categorical_dicts([{"counts": {"a": 1}}, {"counts": {"a": 2, "b": 1}, "missing": 4}])
    CategoricalSketch(counts=mappingproxy({'a': 3, 'b': 1}), missing=4)
    """
    counts: dict[str, int] = {}
    missing = 0
    for data in items:
        if data.get("kind", "categorical") != "categorical":
            raise ValueError(f"not a categorical sketch: kind={data.get('kind')!r}")
        if counts:
            for key, value in data["counts"].items():
                counts[key] = counts.get(key, 0) + value
        else:  # the first: copied (CategoricalSketch makes the counts int, as 0 + value would)
            counts = dict(data["counts"])
        missing += int(data.get("missing") or 0)
    return CategoricalSketch(counts=counts, missing=missing)


class _Mergeable(Protocol):
    def merge(self: _M, other: _M, /) -> _M: ...


_M = TypeVar("_M", bound=_Mergeable)


def merge_all(sketches: Iterable[_M]) -> _M:
    """Merge an iterable of mergeable values (sketches or performance sums) left to right.

    Parameters
    ----------
    sketches : iterable
        Non-empty; every item has a ``merge(other)`` method accepting the next one.

    Raises
    ------
    ValueError
        If `sketches` is empty or the items do not merge.

    Notes
    -----
    :math:`S_1 \\oplus S_2 \\oplus \\dots \\oplus S_k`, folded from the left so that the same inputs
    in the same order give the same floating-point moments.

    Examples
    --------
    >>> hours = [CategoricalSketch({"a": 1}), CategoricalSketch({"a": 2})]
    >>> dict(merge_all(hours).counts)
    {'a': 3}
    """
    merged: _M | None = None
    for s in sketches:
        merged = s if merged is None else merged.merge(s)
    if merged is None:
        raise ValueError("nothing to merge")
    return merged


def sketch_from_dict(
    data: Mapping[str, Any], edges: Iterable[float] | None = None
) -> NumericSketch | CategoricalSketch:
    """Rebuild a numeric or categorical sketch from its ``to_dict`` form.

    Examples
    --------
    >>> sketch_from_dict({"kind": "categorical", "counts": {"a": 1}})
    CategoricalSketch(counts=mappingproxy({'a': 1}), missing=0)
    """
    kind = data.get("kind")
    if kind == "numeric":
        return NumericSketch.from_dict(data, edges=edges)
    if kind == "categorical":
        return CategoricalSketch.from_dict(data)
    raise ValueError(f"unknown sketch kind {kind!r}")
