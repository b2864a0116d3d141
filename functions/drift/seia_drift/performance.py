"""Realized performance from mergeable statistics, as stored per hour (JSON-able dicts).

Binary models keep :class:`BinaryCounts` over the rows with a score (AUC, log loss) and bare
confusion counts of the rows without one; multiclass a confusion matrix; regression error sums.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seia.sparse import dense, unpack_performance
from seia.stats import estimation as core_estimation
from seia.stats import performance as core_performance
from seia_drift.stats import MulticlassCounts, RegressionSums, score_edges

SCORE_BINS = 1000
SCORE_EDGES = score_edges(SCORE_BINS)
_CONFUSION = core_performance.CONFUSION


def _confusion_key(actual_positive: bool, predicted_positive: bool) -> str:
    return {(True, True): "tp", (False, True): "fp", (False, False): "tn", (True, False): "fn"}[
        (actual_positive, predicted_positive)
    ]


def binary_stats(groups: Iterable[tuple[Any, ...]], positive: str, packed: bool = False) -> dict[str, Any]:
    """From (label, prediction_label, score_bucket or None, n, log_loss_sum) groups; ``packed``: the score
    histograms in their stored form (:func:`seia.sparse.pack_performance`), without making them dense."""
    scored = {k: 0 for k in _CONFUSION}
    unscored = {k: 0 for k in _CONFUSION}
    pos_bins: dict[int, int] = {}
    neg_bins: dict[int, int] = {}
    log_loss = 0.0
    for label, predicted, bucket, n, ll in groups:
        key = _confusion_key(label == positive, predicted == positive)
        if bucket is None:
            unscored[key] += n
            continue
        scored[key] += n
        hist = pos_bins if label == positive else neg_bins
        hist[bucket] = hist.get(bucket, 0) + n
        log_loss += ll or 0.0
    # BinaryCounts.to_dict's layout, written directly: the counts are non-negative sums by
    # construction, and validating two 1,000-bin histograms for every stored hour cost seconds
    counts: dict[str, Any] = {"kind": "binary"} | scored
    for name, found in (("positive", pos_bins), ("negative", neg_bins)):
        kept = sorted(b for b, n in found.items() if n)
        if packed:
            counts |= {f"{name}_size": SCORE_BINS, f"{name}_bins": kept, f"{name}_counts": [found[b] for b in kept]}
        else:
            counts[f"{name}_hist"] = dense(SCORE_BINS, kept, [found[b] for b in kept])
    counts["log_loss_sum"] = float(log_loss)
    return {"kind": "binary", "scored": counts, "unscored": unscored}


def multiclass_stats(groups: Iterable[tuple[Any, ...]], labels: tuple[str, ...]) -> dict[str, Any]:
    """From (label, prediction_label, n) groups; labels outside the model's are left out."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for label, predicted, n in groups:
        if label in index and predicted in index:
            matrix[index[label]][index[predicted]] += n
    return MulticlassCounts(labels, tuple(tuple(row) for row in matrix)).to_dict()


def regression_stats(row: tuple[Any, ...]) -> dict[str, Any]:
    n, sae, sse, sy, syy = row
    return RegressionSums(
        n=n or 0, sum_abs_error=sae or 0.0, sum_sq_error=sse or 0.0, sum_y=sy or 0.0, sum_y_sq=syy or 0.0
    ).to_dict()


# Merging and metrics of the stored statistics are the core's, shared with the query path.
merge = core_performance.merge
metrics = core_performance.metrics


def merge_many(stats: Iterable[dict[str, Any] | None]) -> dict[str, Any] | None:
    """:func:`merge` of many hours at once, stored (packed, :mod:`seia.sparse`) or dense: binary counts
    are summed as arrays, not object by object (a day of hours, each with two 1,000-bin histograms,
    merged pairwise rebuilt them 24 times); a packed histogram's non-empty bins are added in place.

    Floats are added left to right, as the pairwise merge does, so the result is the same.
    """
    parts = [core_performance.split(s) for s in stats]
    return core_performance.join(
        _merge_realized([r for r, _ in parts]), core_estimation.merge_many(e for _, e in parts)
    )


def _merge_realized(stats: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    items = [s for s in stats if s is not None]
    if not items:
        return None
    if items[0]["kind"] != "binary" or any(s["kind"] != "binary" for s in items):
        out = None
        for s in items:
            out = merge(out, unpack_performance(s))
        return out
    import numpy as np

    scored = [s["scored"] for s in items]
    merged: dict[str, Any] = {k: sum(int(s[k]) for s in scored) for k in _CONFUSION}
    for hist in ("positive_hist", "negative_hist"):
        prefix = hist.removesuffix("_hist")
        sizes = {s[f"{prefix}_size"] if f"{prefix}_bins" in s else len(s[hist]) for s in scored}
        if len(sizes) != 1:
            raise ValueError("can only merge binary counts with the same score bins")
        total = np.zeros(sizes.pop(), dtype=np.int64)
        for s in scored:
            if f"{prefix}_bins" in s:
                total[np.asarray(s[f"{prefix}_bins"], dtype=np.intp)] += np.asarray(
                    s[f"{prefix}_counts"], dtype=np.int64
                )
            else:
                total += np.asarray(s[hist], dtype=np.int64)
        merged[hist] = total.tolist()
    log_loss = 0.0
    for s in scored:
        log_loss += s["log_loss_sum"]
    merged["log_loss_sum"] = log_loss
    return {
        "kind": "binary",
        "scored": {"kind": "binary"} | merged,
        "unscored": {k: sum(s["unscored"][k] for s in items) for k in _CONFUSION},
    }
