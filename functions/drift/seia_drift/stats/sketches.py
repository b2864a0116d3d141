"""Mergeable sketches of one feature over one window (an hour, a day, ...).

A sketch holds only additive summaries, so the sketch of a range of hours is
the merge of the hourly sketches, and it serialises to a plain JSON-able dict.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .binning import bucketize


def _optional_min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _optional_max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


# Sketches of one feature share one edges tuple: check (and convert) it once, not per sketch.
_EDGES_CHECKED: dict[tuple, tuple] = {}


def _checked_edges(edges) -> tuple[float, ...]:
    key = edges if type(edges) is tuple else tuple(edges)
    found = _EDGES_CHECKED.get(key)
    if found is not None:
        return found
    converted = tuple(map(float, key))
    if not converted:
        raise ValueError("edges must not be empty")
    e = np.asarray(converted)
    if not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ValueError("edges must be finite and strictly increasing")
    if len(_EDGES_CHECKED) > 4096:
        _EDGES_CHECKED.clear()
    _EDGES_CHECKED[key] = converted
    return converted


@dataclass(frozen=True)
class NumericSketch:
    """Histogram on fixed reference edges plus additive moments.

    Parameters
    ----------
    edges : tuple of float
        Strictly increasing, finite bin edges (see :func:`~seia_drift.stats.binning.fit_edges`).
    counts : tuple of int
        ``len(edges) + 1`` non-negative bucket counts, bucket convention of
        :func:`~seia_drift.stats.binning.bucketize`.
    missing : int
        Rows whose value is missing or not finite.
    total : float
        Sum of the non-missing values.
    total_sq : float
        Sum of their squares.
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
        On inconsistent fields (length, negative counts, unsorted edges,
        extremes missing for a non-empty sketch, ...).

    Notes
    -----
    Every field merges by addition (counts, missing, sums) or by min / max,
    so that for windows :math:`A, B` of rows,
    :math:`S(A \\cup B) = S(A) \\oplus S(B)` with exact integer counts.
    Non-finite values (NaN, ±inf) count as missing; the SQL side must do the
    same (``x = 'NaN' or x in ('Infinity', '-Infinity')``).

    Examples
    --------
    >>> s = NumericSketch.from_values([1.0, 2.0, 2.5, float("nan")], edges=(2.0,))
    >>> s.counts, s.n, s.missing, s.total, s.min, s.max
    ((1, 2), 3, 1, 5.5, 1.0, 2.5)
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    missing: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        edges = _checked_edges(self.edges)
        counts = tuple(map(int, self.counts))
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "missing", int(self.missing))
        object.__setattr__(self, "total", float(self.total))
        object.__setattr__(self, "total_sq", float(self.total_sq))
        if len(counts) != len(edges) + 1:
            raise ValueError(f"counts must have len(edges) + 1 = {len(edges) + 1} entries, got {len(counts)}")
        if min(counts) < 0 or self.missing < 0:
            raise ValueError("counts and missing must be non-negative")
        if self.n > 0:
            if self.min is None or self.max is None or not self.min <= self.max:
                raise ValueError("a non-empty sketch needs min <= max")
            object.__setattr__(self, "min", float(self.min))
            object.__setattr__(self, "max", float(self.max))
        elif self.min is not None or self.max is not None or self.total or self.total_sq:
            raise ValueError("an empty sketch has no extremes and zero sums")

    @property
    def n(self) -> int:
        return sum(self.counts)

    @property
    def rows(self) -> int:
        return self.n + self.missing

    @classmethod
    def empty(cls, edges) -> NumericSketch:
        """Sketch of no rows on `edges`.

        Examples
        --------
        >>> NumericSketch.empty((0.0, 1.0)).counts
        (0, 0, 0)
        """
        edges = tuple(edges)
        return cls(edges=edges, counts=(0,) * (len(edges) + 1))

    @classmethod
    def from_values(cls, values, edges) -> NumericSketch:
        """Sketch raw values on `edges`; None, NaN and ±inf count as missing.

        Notes
        -----
        ``counts[k] = #{x : bucketize(x) = k}``, ``total`` :math:`= \\sum x`,
        ``total_sq`` :math:`= \\sum x^2` (numpy pairwise summation).

        Examples
        --------
        >>> NumericSketch.from_values([0.0, None, 7.0], edges=(1.0,)).counts
        (1, 1)
        """
        x = np.asarray(values, dtype=float).ravel()
        finite = np.isfinite(x)
        x = x[finite]
        counts = np.bincount(bucketize(x, edges), minlength=len(edges) + 1)
        if x.size == 0:
            return cls(edges=tuple(edges), counts=tuple(counts.tolist()), missing=int((~finite).sum()))
        return cls(
            edges=tuple(edges),
            counts=tuple(counts.tolist()),
            missing=int((~finite).sum()),
            total=float(x.sum()),
            total_sq=float(np.dot(x, x)),
            min=float(x.min()),
            max=float(x.max()),
        )

    def merge(self, other: NumericSketch) -> NumericSketch:
        """Sketch of the union of both windows' rows.

        Raises
        ------
        ValueError
            If `other` is not a NumericSketch on the same edges.

        Examples
        --------
        >>> a = NumericSketch.from_values([1.0], edges=(2.0,))
        >>> b = NumericSketch.from_values([3.0, 4.0], edges=(2.0,))
        >>> a.merge(b) == NumericSketch.from_values([1.0, 3.0, 4.0], edges=(2.0,))
        True
        """
        if not isinstance(other, NumericSketch) or other.edges != self.edges:
            raise ValueError("can only merge numeric sketches on the same edges")
        return NumericSketch(
            edges=self.edges,
            counts=tuple(a + b for a, b in zip(self.counts, other.counts)),
            missing=self.missing + other.missing,
            total=self.total + other.total,
            total_sq=self.total_sq + other.total_sq,
            min=_optional_min(self.min, other.min),
            max=_optional_max(self.max, other.max),
        )

    def mean(self) -> float:
        """Mean of the non-missing values, NaN when empty.

        Examples
        --------
        >>> NumericSketch.from_values([1.0, 3.0], edges=(2.0,)).mean()
        2.0
        """
        return self.total / self.n if self.n else math.nan

    def std(self) -> float:
        """Sample standard deviation (``ddof=1``), NaN below two values.

        Notes
        -----
        :math:`s^2 = \\max(0, (\\sum x^2 - (\\sum x)^2 / n) / (n - 1))`.

        Examples
        --------
        >>> NumericSketch.from_values([1.0, 3.0], edges=(2.0,)).std()
        1.4142135623730951
        """
        n = self.n
        if n < 2:
            return math.nan
        return math.sqrt(max(0.0, (self.total_sq - self.total * self.total / n) / (n - 1)))

    def to_dict(self, include_edges: bool = True) -> dict[str, Any]:
        """Plain JSON-able dict; leave the edges out when they are stored once per feature.

        Examples
        --------
        >>> NumericSketch.from_values([1.0], edges=(2.0,)).to_dict(include_edges=False)
        {'kind': 'numeric', 'counts': [1, 0], 'missing': 0, 'total': 1.0, 'total_sq': 1.0, 'min': 1.0, 'max': 1.0}
        """
        data: dict[str, Any] = {"kind": "numeric"}
        if include_edges:
            data["edges"] = list(self.edges)
        data.update(
            counts=list(self.counts),
            missing=self.missing,
            total=self.total,
            total_sq=self.total_sq,
            min=self.min,
            max=self.max,
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], edges=None) -> NumericSketch:
        """Inverse of :meth:`to_dict`; `edges` supplies them when the dict has none.

        Examples
        --------
        >>> s = NumericSketch.from_values([1.0, 5.0], edges=(2.0,))
        >>> NumericSketch.from_dict(s.to_dict(include_edges=False), edges=(2.0,)) == s
        True
        """
        if data.get("kind", "numeric") != "numeric":
            raise ValueError(f"not a numeric sketch: kind={data.get('kind')!r}")
        edges = data.get("edges", edges)
        if edges is None:
            raise ValueError("edges are neither in the data nor given")
        return cls(
            edges=tuple(edges),
            counts=tuple(data["counts"]),
            missing=data.get("missing", 0),
            total=data.get("total", 0.0),
            total_sq=data.get("total_sq", 0.0),
            min=data.get("min"),
            max=data.get("max"),
        )


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
    Merging adds the counts category by category, so it is exact and
    associative: :math:`c_k(A \\cup B) = c_k(A) + c_k(B)`.

    Examples
    --------
    >>> s = CategoricalSketch.from_values(["b", "a", "b", None])
    >>> dict(s.counts), s.missing, s.n
    ({'a': 1, 'b': 2}, 1, 3)
    """

    counts: Mapping[str, int]
    missing: int = 0

    def __post_init__(self) -> None:
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
        if self.missing < 0:
            raise ValueError("missing must be non-negative")

    def __hash__(self) -> int:
        return hash((tuple(self.counts.items()), self.missing))

    @property
    def n(self) -> int:
        """Number of non-missing values."""
        return sum(self.counts.values())

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
        values = list(values)
        present = [str(v) for v in values if not _is_missing(v)]
        if not present:
            return cls(counts={}, missing=len(values))
        keys, counts = np.unique(np.asarray(present, dtype=str), return_counts=True)
        return cls(counts=dict(zip(keys.tolist(), counts.tolist())), missing=len(values) - len(present))

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
        if data.get("kind", "categorical") != "categorical":
            raise ValueError(f"not a categorical sketch: kind={data.get('kind')!r}")
        return cls(counts=data["counts"], missing=data.get("missing", 0))


def merge_all(sketches: Iterable[Any]):
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
    :math:`S_1 \\oplus S_2 \\oplus \\dots \\oplus S_k`, folded from the left so
    that the same inputs in the same order give the same floating-point sums.

    Examples
    --------
    >>> hours = [CategoricalSketch({"a": 1}), CategoricalSketch({"a": 2})]
    >>> dict(merge_all(hours).counts)
    {'a': 3}
    """
    sketches = list(sketches)
    if not sketches:
        raise ValueError("nothing to merge")
    return functools.reduce(lambda a, b: a.merge(b), sketches)


def sketch_from_dict(data: Mapping[str, Any], edges=None) -> NumericSketch | CategoricalSketch:
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
