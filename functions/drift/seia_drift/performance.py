"""Realized performance from mergeable statistics, as stored per hour (JSON-able dicts).

Binary models keep :class:`BinaryCounts` over the rows with a score (AUC, log loss) and bare
confusion counts of the rows without one; multiclass a confusion matrix; regression error sums.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from seia_drift.stats import (
    BinaryCounts,
    MulticlassCounts,
    RegressionSums,
    binary_metrics,
    multiclass_metrics,
    regression_metrics,
    score_edges,
)

SCORE_BINS = 1000
SCORE_EDGES = score_edges(SCORE_BINS)
_CONFUSION = ("tp", "fp", "tn", "fn")


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


def merge(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return a if b is None else b
    kind = a["kind"]
    if kind == "binary":
        scored = BinaryCounts.from_dict(a["scored"]).merge(BinaryCounts.from_dict(b["scored"]))
        return {
            "kind": kind,
            "scored": scored.to_dict(),
            "unscored": {k: a["unscored"][k] + b["unscored"][k] for k in _CONFUSION},
        }
    if kind == "multiclass":
        return MulticlassCounts.from_dict(a).merge(MulticlassCounts.from_dict(b)).to_dict()
    return RegressionSums.from_dict(a).merge(RegressionSums.from_dict(b)).to_dict()


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def metrics(stats: dict[str, Any] | None) -> dict[str, Any]:
    """Metrics of merged statistics; None for what is undefined. ``n`` is the labelled rows."""
    if stats is None:
        return {"n": 0}
    kind = stats["kind"]
    if kind == "binary":
        scored = BinaryCounts.from_dict(stats["scored"])
        c = {k: getattr(scored, k) + stats["unscored"][k] for k in _CONFUSION}
        n = sum(c.values())
        m = binary_metrics(scored)

        def ratio(a: int, b: int) -> float | None:
            return a / b if b else None

        return {
            "n": n,
            "accuracy": ratio(c["tp"] + c["tn"], n),
            "precision": ratio(c["tp"], c["tp"] + c["fp"]),
            "recall": ratio(c["tp"], c["tp"] + c["fn"]),
            "f1": ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]),
            "roc_auc": _finite(m.roc_auc) if scored.n else None,
            "log_loss": _finite(m.log_loss) if scored.n else None,
            "scored": scored.n,
        }
    if kind == "multiclass":
        mc = multiclass_metrics(MulticlassCounts.from_dict(stats))
        return {"n": mc.n, "accuracy": _finite(mc.accuracy), "macro_f1": _finite(mc.macro_f1)}
    rm = regression_metrics(RegressionSums.from_dict(stats))
    return {"n": rm.n, "mae": _finite(rm.mae), "rmse": _finite(rm.rmse), "r2": _finite(rm.r2)}
