"""Realized performance of a window from its stored, mergeable statistics (JSON-able dicts).

Binary models keep :class:`~seia.stats.classification.BinaryCounts` over the rows with a score
(AUC, log loss) and bare confusion counts of the rows without one; multiclass a confusion matrix;
regression error sums. The engine stores them per hour; the query path merges any range of hours.

An hour's statistics may also hold ``estimated``: what the estimated performance needs, over every
row with scores, labelled or not (:mod:`seia.stats.estimation`); an hour without any label holds
only that (no ``kind``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import estimation
from .classification import BinaryCounts, MulticlassCounts, binary_metrics, multiclass_metrics
from .regression import RegressionSums, regression_metrics

CONFUSION = ("tp", "fp", "tn", "fn")


def split(stats: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the realized statistics or None when no row was labelled, the estimation statistics or None).

    Examples
    --------
    >>> split({"estimated": {"n": 1, "classes": []}})
    (None, {'n': 1, 'classes': []})
    """
    if stats is None:
        return None, None
    realized = {k: v for k, v in stats.items() if k != "estimated"} if "kind" in stats else None
    return realized, stats.get("estimated")


def join(realized: dict[str, Any] | None, estimated: dict[str, Any] | None) -> dict[str, Any] | None:
    """Inverse of :func:`split`."""
    if estimated is None:
        return realized
    return (realized or {}) | {"estimated": estimated}


def merge(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Statistics of two windows together (either may be None: no labelled row).

    Examples
    --------
    >>> a = {"kind": "multiclass", "labels": ["x", "y"], "matrix": [[1, 0], [0, 1]]}
    >>> merge(a, a)["matrix"], merge(None, a) == a
    ([[2, 0], [0, 2]], True)
    """
    if a is None or b is None:
        other = a if b is None else b
        return None if other is None else dict(other)
    (ra, ea), (rb, eb) = split(a), split(b)
    return join(_merge_realized(ra, rb), estimation.merge(ea, eb))


def _merge_realized(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        other = a if b is None else b
        return None if other is None else dict(other)
    kind = a["kind"]
    if kind == "binary":
        scored = BinaryCounts.from_dict(a["scored"]).merge(BinaryCounts.from_dict(b["scored"]))
        return {
            "kind": kind,
            "scored": scored.to_dict(),
            "unscored": {k: a["unscored"][k] + b["unscored"][k] for k in CONFUSION},
        }
    if kind == "multiclass":
        return MulticlassCounts.from_dict(a).merge(MulticlassCounts.from_dict(b)).to_dict()
    return RegressionSums.from_dict(a).merge(RegressionSums.from_dict(b)).to_dict()


def finite(value: float | None) -> float | None:
    """``value`` as a float, None for None, NaN and ±inf (JSON has none of them).

    Examples
    --------
    >>> finite(1), finite(float("nan")), finite(None)
    (1.0, None, None)
    """
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def metrics(stats: Mapping[str, Any] | None) -> dict[str, Any]:
    """Metrics of merged statistics; None for what is undefined. ``n`` is the labelled rows.

    Examples
    --------
    >>> metrics({"kind": "regression", "n": 2, "sum_abs_error": 1.0, "sum_sq_error": 0.5,
    ...          "sum_y": 3.0, "sum_y_sq": 5.0})
    {'n': 2, 'mae': 0.5, 'rmse': 0.5, 'r2': 0.0}
    >>> metrics(None)
    {'n': 0}
    """
    if stats is None or "kind" not in stats:
        return {"n": 0}
    kind = stats["kind"]
    if kind == "binary":
        scored = BinaryCounts.from_dict(stats["scored"])
        c = {k: getattr(scored, k) + stats["unscored"][k] for k in CONFUSION}
        n = sum(c.values())
        m = binary_metrics(scored)
        return {
            "n": n,
            "accuracy": _ratio(c["tp"] + c["tn"], n),
            "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
            "recall": _ratio(c["tp"], c["tp"] + c["fn"]),
            "f1": _ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]),
            "roc_auc": finite(m.roc_auc) if scored.n else None,
            "log_loss": finite(m.log_loss) if scored.n else None,
            "scored": scored.n,
        }
    if kind == "multiclass":
        mm = multiclass_metrics(MulticlassCounts.from_dict(stats))
        return {"n": mm.n, "accuracy": finite(mm.accuracy), "macro_f1": finite(mm.macro_f1)}
    rm = regression_metrics(RegressionSums.from_dict(stats))
    return {"n": rm.n, "mae": finite(rm.mae), "rmse": finite(rm.rmse), "r2": finite(rm.r2)}
