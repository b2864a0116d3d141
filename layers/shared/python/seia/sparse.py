"""The stored forms of hourly sketches and performance statistics: histograms keep their non-empty bins.

An hour holds a few dozen rows, so its 513-bin numeric sketch and the two 1,000-bin score histograms of
its binary performance counts are almost all zeros. Stored dense (as JSON), they cost most of the
worker's time in encoding, PostgreSQL's ``jsonb`` parsing and TOAST, and decoding on every read. They
are stored as (size, bins, counts) instead (tenant migration 0007 converted the older rows), and the
repositories that read them hand their callers the dense ``to_dict`` form. A dense dict is accepted on
read as well, so either form can be read whatever wrote it.

Examples
--------
>>> packed = pack_sketch({"kind": "numeric", "counts": [0, 2, 0, 1], "missing": 0, "mean": 1.0})
>>> packed
{'kind': 'numeric', 'missing': 0, 'mean': 1.0, 'size': 4, 'bins': [1, 3], 'bin_counts': [2, 1]}
>>> unpack_sketch(packed)["counts"]
[0, 2, 0, 1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_HISTOGRAMS = ("positive_hist", "negative_hist")


def sparse(counts: Sequence[int]) -> tuple[list[int], list[int]]:
    """The non-zero bins of ``counts`` and their counts."""
    bins = [i for i, c in enumerate(counts) if c]
    return bins, [counts[i] for i in bins]


def dense(size: int, bins: Sequence[int], counts: Sequence[int]) -> list[int]:
    """Inverse of :func:`sparse`.

    Examples
    --------
    >>> dense(3, [2], [5])
    [0, 0, 5]
    """
    out = [0] * size
    for i, c in zip(bins, counts):
        out[i] = c
    return out


def pack_sketch(data: Mapping[str, Any]) -> dict[str, Any]:
    """A sketch's stored form: a numeric sketch's dense ``counts`` become ``size``, ``bins``, ``bin_counts``
    (a categorical sketch's counts, by category, are already sparse)."""
    counts = data.get("counts")
    if not isinstance(counts, list):
        return dict(data)
    bins, nonzero = sparse(counts)
    out = {k: v for k, v in data.items() if k != "counts"}
    out.update(size=len(counts), bins=bins, bin_counts=nonzero)
    return out


def unpack_sketch(data: dict[str, Any]) -> dict[str, Any]:
    """A stored sketch in its ``to_dict`` form (dense counts); a dense or categorical one as it is."""
    if "bins" not in data:
        return data
    out = {k: v for k, v in data.items() if k not in ("size", "bins", "bin_counts")}
    out["counts"] = dense(data["size"], data["bins"], data["bin_counts"])
    return out


def pack_performance(stats: Mapping[str, Any]) -> dict[str, Any]:
    """Binary counts' stored form: each score histogram as ``<name>_size``, ``_bins``, ``_counts``.

    Examples
    --------
    >>> stats = {"kind": "binary", "scored": {"tp": 1, "positive_hist": [0, 1], "negative_hist": [0, 0]}}
    >>> pack_performance(stats)["scored"]
    {'tp': 1, 'positive_size': 2, 'positive_bins': [1], 'positive_counts': [1], 'negative_size': 2, 'negative_bins': [], 'negative_counts': []}
    >>> unpack_performance(pack_performance(stats)) == stats
    True
    """
    scored = stats.get("scored")
    if stats.get("kind") != "binary" or not isinstance(scored, Mapping) or _HISTOGRAMS[0] not in scored:
        return dict(stats)
    packed = {k: v for k, v in scored.items() if k not in _HISTOGRAMS}
    for name in _HISTOGRAMS:
        prefix = name.removesuffix("_hist")
        bins, counts = sparse(scored[name])
        packed |= {f"{prefix}_size": len(scored[name]), f"{prefix}_bins": bins, f"{prefix}_counts": counts}
    return dict(stats) | {"scored": packed}


def unpack_performance(stats: dict[str, Any] | None) -> dict[str, Any] | None:
    """Inverse of :func:`pack_performance`; anything else as it is."""
    if stats is None or stats.get("kind") != "binary" or "positive_bins" not in stats["scored"]:
        return stats
    scored = stats["scored"]
    out = {k: v for k, v in scored.items() if not k.startswith(("positive_", "negative_"))}
    for name in _HISTOGRAMS:
        prefix = name.removesuffix("_hist")
        out[name] = dense(scored[f"{prefix}_size"], scored[f"{prefix}_bins"], scored[f"{prefix}_counts"])
    return stats | {"scored": out}
