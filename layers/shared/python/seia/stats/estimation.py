"""Estimated performance (confidence-based, as NannyML's CBPE) from mergeable hourly statistics.

While labels are missing, the model's own scores, calibrated on the reference, say how many of its
predictions are expected to be right. The engine stores per hour, over every row with scores
(labelled or not), what the estimate needs, all of it sums:

``n``
    rows with scores and a prediction;
``classes``
    one entry per class the estimate is about (binary: the positive class; multiclass: every label,
    in the model's label order), each with ``pred`` (rows predicted as that class), ``tp`` (the sum
    of its calibrated probability over those rows: expected true positives), ``fn`` (the same sum
    over the other rows: expected false negatives) and a histogram of the raw score of that class on
    :func:`seia.stats.classification.score_edges` bins (``size``, ``bins``, ``counts``) with the sum
    of calibrated probabilities per bin (``expected``: expected positives) for ROC AUC.

So a day, or any range, is the merge (sum) of its hours, and the metrics below are a function of
the merge. The sampling error follows NannyML 0.13: per metric, components fitted on the reference
(:func:`seia_drift.estimation.fit_reference`) scaled by the window's row count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SAMPLING_ERROR_RANGE = 3  # the band is estimate ± 3 sampling errors, clipped to [0, 1] (NannyML's)
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def merge(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Estimation statistics of two windows together (either may be None).

    Examples
    --------
    >>> h = {"n": 2, "classes": [{"pred": 1, "tp": 0.8, "fn": 0.1, "size": 4, "bins": [1, 3],
    ...                           "counts": [1, 1], "expected": [0.1, 0.8]}]}
    >>> m = merge(h, h)
    >>> m["n"], m["classes"][0]["bins"], m["classes"][0]["counts"], m["classes"][0]["expected"]
    (4, [1, 3], [2, 2], [0.2, 1.6])
    """
    return merge_many([a, b])


def merge_many(items: Iterable[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """:func:`merge` of many windows; sums are added in the order given."""
    present = [s for s in items if s]
    if not present:
        return None
    k = len(present[0]["classes"])
    if any(len(s["classes"]) != k for s in present):
        raise ValueError("can only merge estimation statistics over the same classes")
    classes = []
    for i in range(k):
        parts = [s["classes"][i] for s in present]
        size = parts[0]["size"]
        if any(p["size"] != size for p in parts):
            raise ValueError("can only merge estimation statistics with the same score bins")
        counts: dict[int, int] = {}
        expected: dict[int, float] = {}
        for p in parts:
            for b, c, e in zip(p["bins"], p["counts"], p["expected"], strict=True):
                counts[b] = counts.get(b, 0) + c
                expected[b] = expected.get(b, 0.0) + e
        bins = sorted(counts)
        classes.append(
            {
                "pred": sum(int(p["pred"]) for p in parts),
                "tp": math.fsum(p["tp"] for p in parts),
                "fn": math.fsum(p["fn"] for p in parts),
                "size": size,
                "bins": bins,
                "counts": [counts[b] for b in bins],
                "expected": [expected[b] for b in bins],
            }
        )
    return {"n": sum(int(s["n"]) for s in present), "classes": classes}


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def expected_auc(bins: Sequence[int], counts: Sequence[int], expected: Sequence[float]) -> float | None:
    """ROC AUC expected from a histogram of raw scores with the expected positives per bin.

    Notes
    -----
    With :math:`E_k` expected positives and :math:`F_k = n_k - E_k` expected negatives in bin
    :math:`k` (bins in score order), pairs in one bin count as ties:

    .. math:: \\widehat{\\mathrm{AUC}} = \\frac{1}{PF} \\sum_k E_k \\Big(\\sum_{j<k} F_j + \\tfrac12 F_k\\Big)

    NannyML's ``estimate_roc_auc`` walks the rows in score order; rows of equal score (and so of
    equal calibrated probability) give the same trapezoid as the half-counted ties here.

    Examples
    --------
    >>> expected_auc([0, 1], [10, 10], [0.0, 10.0])
    1.0
    >>> expected_auc([0, 1], [10, 10], [5.0, 5.0])
    0.5
    """
    order = sorted(range(len(bins)), key=lambda i: bins[i])
    below, total, positives, negatives = 0.0, 0.0, 0.0, 0.0
    for i in order:
        e = float(expected[i])
        f = max(float(counts[i]) - e, 0.0)
        total += e * (below + 0.5 * f)
        below += f
        positives += e
        negatives += f
    return _ratio(total, positives * negatives)


def _class_metrics(c: Mapping[str, Any]) -> dict[str, float | None]:
    tp, pred, fn = float(c["tp"]), float(c["pred"]), float(c["fn"])
    fp = pred - tp
    return {
        "precision": _ratio(tp, pred),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": expected_auc(c["bins"], c["counts"], c["expected"]),
    }


def _mean(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return math.fsum(v for v in values if v is not None) / len(values)


def estimated_values(stats: Mapping[str, Any], task: str) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1 and ROC AUC expected from merged statistics.

    Binary: the positive class's expected confusion matrix. Multiclass: accuracy is the mean
    calibrated probability of the predicted class; the others are macro averages of the one-vs-rest
    estimates (NannyML's definitions).

    Examples
    --------
    >>> s = {"n": 4, "classes": [{"pred": 2, "tp": 1.5, "fn": 0.5, "size": 2, "bins": [0, 1],
    ...                           "counts": [2, 2], "expected": [0.5, 1.5]}]}
    >>> v = estimated_values(s, "binary_classification")
    >>> v["accuracy"], v["precision"], v["recall"], v["roc_auc"]
    (0.75, 0.75, 0.75, 0.75)
    """
    n = int(stats["n"])
    classes = stats["classes"]
    if task == "binary_classification":
        c = classes[0]
        tn = n - float(c["pred"]) - float(c["fn"])
        return {"accuracy": _ratio(float(c["tp"]) + tn, n)} | _class_metrics(c)
    per_class = [_class_metrics(c) for c in classes]
    out: dict[str, float | None] = {"accuracy": _ratio(math.fsum(float(c["tp"]) for c in classes), n)}
    for metric in ("precision", "recall", "f1", "roc_auc"):
        out[metric] = _mean([m[metric] for m in per_class])
    return out


def sampling_error(components: Mapping[str, Any], n: int) -> float | None:
    """NannyML's sampling error of a metric over ``n`` rows from its reference components.

    Notes
    -----
    ``components`` holds ``pairs`` :math:`(v_i, f_i)` (a variance observed on the reference and the
    share of rows it is about) and a ``factor`` :math:`c`:
    :math:`\\mathrm{SE} = c \\sqrt{\\sum_i v_i / (n f_i)} / m` over the :math:`m` pairs. Binary
    metrics have one pair (:math:`\\sigma / \\sqrt{n f}`); multiclass ones a pair per class (NannyML's
    "standard deviation of variances"), with :math:`c = 1.2` for ROC AUC.

    Examples
    --------
    >>> sampling_error({"pairs": [[0.25, 1.0]], "factor": 1.0}, 100)
    0.05
    """
    pairs = components.get("pairs") or []
    if n <= 0 or not pairs or any(f is None or f <= 0 or v is None for v, f in pairs):
        return None
    return float(components.get("factor", 1.0)) * math.sqrt(sum(v / (n * f) for v, f in pairs)) / len(pairs)


def estimate(stats: Mapping[str, Any] | None, reference: Mapping[str, Any] | None, task: str) -> dict[str, Any] | None:
    """Per metric ``{value, sampling_error, lower, upper}`` of a window, plus ``n`` (rows with scores).

    ``reference`` is what :func:`seia_drift.estimation.fit_reference` stored (its ``components``);
    None when there is nothing to estimate from.

    Examples
    --------
    >>> s = {"n": 100, "classes": [{"pred": 50, "tp": 40.0, "fn": 10.0, "size": 2, "bins": [0, 1],
    ...                             "counts": [50, 50], "expected": [10.0, 40.0]}]}
    >>> ref = {"components": {"accuracy": {"pairs": [[0.16, 1.0]], "factor": 1.0}}}
    >>> e = estimate(s, ref, "binary_classification")
    >>> e["n"], e["accuracy"]
    (100, {'value': 0.8, 'sampling_error': 0.04, 'lower': 0.68, 'upper': 0.92})
    """
    if not stats or not reference or int(stats.get("n") or 0) <= 0:
        return None
    n = int(stats["n"])
    values = estimated_values(stats, task)
    components = reference.get("components") or {}
    out: dict[str, Any] = {"n": n}
    for metric in METRICS:
        value = values.get(metric)
        if value is None or math.isnan(value):
            continue
        se = sampling_error(components[metric], n) if metric in components else None
        entry: dict[str, Any] = {"value": round(value, 12), "sampling_error": None, "lower": None, "upper": None}
        if se is not None:
            entry |= {
                "sampling_error": round(se, 12),
                "lower": round(max(0.0, value - SAMPLING_ERROR_RANGE * se), 12),
                "upper": round(min(1.0, value + SAMPLING_ERROR_RANGE * se), 12),
            }
        out[metric] = entry
    return out
