"""Realized performance from mergeable statistics, as stored per hour (JSON-able dicts).

Binary models keep :class:`BinaryCounts` over the rows with a score (AUC, log loss) and bare
confusion counts of the rows without one; multiclass a confusion matrix; regression error sums.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seia.stats import performance as core_performance
from seia_drift.stats import BinaryCounts, MulticlassCounts, RegressionSums, score_edges

SCORE_BINS = 1000
SCORE_EDGES = score_edges(SCORE_BINS)
_CONFUSION = core_performance.CONFUSION


def _confusion_key(actual_positive: bool, predicted_positive: bool) -> str:
    return {(True, True): "tp", (False, True): "fp", (False, False): "tn", (True, False): "fn"}[
        (actual_positive, predicted_positive)
    ]


def binary_stats(groups: Iterable[tuple[Any, ...]], positive: str) -> dict[str, Any]:
    """From (label, prediction_label, score_bucket or None, n, log_loss_sum) groups."""
    scored = {k: 0 for k in _CONFUSION}
    unscored = {k: 0 for k in _CONFUSION}
    pos_hist, neg_hist, log_loss = [0] * SCORE_BINS, [0] * SCORE_BINS, 0.0
    for label, predicted, bucket, n, ll in groups:
        key = _confusion_key(label == positive, predicted == positive)
        if bucket is None:
            unscored[key] += n
            continue
        scored[key] += n
        (pos_hist if label == positive else neg_hist)[bucket] += n
        log_loss += ll or 0.0
    counts = BinaryCounts(**scored, positive_hist=tuple(pos_hist), negative_hist=tuple(neg_hist), log_loss_sum=log_loss)
    return {"kind": "binary", "scored": counts.to_dict(), "unscored": unscored}


def multiclass_stats(groups: Iterable[tuple[Any, ...]], labels: tuple[str, ...]) -> dict[str, Any]:
    """From (label, prediction_label, n) groups; labels outside the model's are left out."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for label, predicted, n in groups:
        if label in index and predicted in index:
            matrix[index[label]][index[predicted]] += n
    return MulticlassCounts(labels, tuple(tuple(r) for r in matrix)).to_dict()


def regression_stats(row: tuple[Any, ...]) -> dict[str, Any]:
    n, sae, sse, sy, syy = row
    return RegressionSums(
        n=n or 0, sum_abs_error=sae or 0.0, sum_sq_error=sse or 0.0, sum_y=sy or 0.0, sum_y_sq=syy or 0.0
    ).to_dict()


# Merging and metrics of the stored statistics are the core's, shared with the query path.
merge = core_performance.merge
metrics = core_performance.metrics
