"""Estimated performance: calibration on the reference, and the hourly statistics of the estimate.

The calibration is isotonic regression, fitted by pool-adjacent-violators (:func:`isotonic_fit`), one
map per class (binary: the positive class's score; multiclass: each label's score one-vs-rest, the
calibrated probabilities then normalised to sum to one), as NannyML's CBPE does, and kept only where
it lowers the expected calibration error on held-out reference rows (:func:`needs_calibration`).
Why isotonic and not histogram binning: it is monotone by construction (the ranking of the scores,
hence ROC AUC, is kept), needs no bin count, and it is what NannyML fits, so the two estimates compare.

The maps are stored with the reference as breakpoints ``x`` (strictly increasing) and values ``y``,
linear in between and constant outside, which both numpy (:func:`calibrate`) and PostgreSQL
(:func:`calibrated_sql`) evaluate row by row; the hourly sums (:mod:`seia.stats.estimation`) are
then taken in SQL like the other hourly statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from psycopg import sql

from seia.stats.classification import DEFAULT_SCORE_BINS, score_edges

ESTIMATE_BINS = DEFAULT_SCORE_BINS
ESTIMATE_EDGES = np.asarray(score_edges(ESTIMATE_BINS))
IDENTITY = {"x": [0.0, 1.0], "y": [0.0, 1.0]}
ECE_BINS, SPLITS, TEST_SHARE = 10, 10, 0.1
MIN_REFERENCE_ROWS = 100  # labelled reference rows with scores below which nothing is estimated


# -- calibration ------------------------------------------------------------------------------------
def isotonic_fit(scores: np.ndarray, labels: np.ndarray) -> dict[str, list[float]]:
    """Non-decreasing least-squares fit of 0/1 ``labels`` on ``scores`` (pool-adjacent-violators).

    Returns
    -------
    dict
        ``x``: the distinct scores where the fitted step function changes (both ends of every
        plateau), ``y``: its values there; evaluated by linear interpolation, constant outside
        (scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``).

    Notes
    -----
    Rows of equal score are pooled first (their mean label, weighted by their count); then adjacent
    blocks whose means decrease are merged until the means are non-decreasing: the unique
    solution of :math:`\\min \\sum_i w_i (y_i - f(x_i))^2` over non-decreasing :math:`f`.

    Examples
    --------
    >>> fit = isotonic_fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1]))
    >>> fit["x"], fit["y"]
    ([0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.5, 1.0])
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    if s.shape != y.shape or s.ndim != 1 or s.size == 0:
        raise ValueError("scores and labels must be 1-d arrays of the same, non-zero length")
    xs, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=y, minlength=xs.size)
    # blocks as a stack: (sum of labels, weight, first index)
    b_sum: list[float] = []
    b_w: list[float] = []
    b_start: list[int] = []
    for i in range(xs.size):
        cur_s, cur_w, start = float(sums[i]), float(counts[i]), i
        while b_sum and b_sum[-1] / b_w[-1] >= cur_s / cur_w:
            cur_s += b_sum.pop()
            cur_w += b_w.pop()
            start = b_start.pop()
        b_sum.append(cur_s)
        b_w.append(cur_w)
        b_start.append(start)
    fitted = np.empty(xs.size)
    ends = b_start[1:] + [xs.size]
    for total, w, a, b in zip(b_sum, b_w, b_start, ends, strict=True):
        fitted[a:b] = total / w
    # keep the ends of every plateau: the interior points add nothing to the interpolation
    keep = np.ones(xs.size, dtype=bool)
    if xs.size > 2:
        keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return {"x": xs[keep].tolist(), "y": fitted[keep].tolist()}


def calibrate(scores: np.ndarray, fit: dict[str, list[float]]) -> np.ndarray:
    """The map's values at ``scores`` (linear between breakpoints, constant outside)."""
    return np.asarray(np.interp(np.asarray(scores, dtype=float), fit["x"], fit["y"]), dtype=float)


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` equal-count bins of the sorted probabilities (NannyML's definition).

    Examples
    --------
    >>> round(expected_calibration_error(np.array([0, 1, 0, 1]), np.array([0.0, 0.0, 1.0, 1.0]), 2), 3)
    0.5
    """
    p, y = np.asarray(probabilities, dtype=float), np.asarray(labels, dtype=float)
    order = np.argsort(p, kind="stable")
    p, y = p[order], y[order]
    n = p.size
    if n <= 2 * bins:
        bins = n // 2
    if bins < 2:
        raise ValueError("too few rows to measure calibration")
    width = n // bins
    edges = list(range(0, n + 1, width))
    edges[-1] = n
    return float(sum((b - a) / n * abs(p[a:b].mean() - y[a:b].mean()) for a, b in zip(edges[:-1], edges[1:])))


def needs_calibration(scores: np.ndarray, labels: np.ndarray, seed: int = 42) -> bool:
    """Whether isotonic calibration lowers the ECE on held-out rows (NannyML's test).

    Ten stratified random splits hold out 10% of the rows each; a map is fitted on the rest and the
    ECE of the held-out rows, all splits together, compared before and after. Scores that already
    rank perfectly, or labels of one class, need none.
    """
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    if np.unique(y).size < 2 or s.size < 4 * ECE_BINS:
        return False
    if _auc(y, s) > 0.999:
        return False
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    truth, raw, calibrated = [], [], []
    for _ in range(SPLITS):
        test = np.concatenate(
            [
                rng.choice(pos, max(1, round(TEST_SHARE * pos.size)), replace=False),
                rng.choice(neg, max(1, round(TEST_SHARE * neg.size)), replace=False),
            ]
        )
        train = np.ones(s.size, dtype=bool)
        train[test] = False
        fit = isotonic_fit(s[train], y[train])
        truth.append(y[test])
        raw.append(s[test])
        calibrated.append(calibrate(s[test], fit))
    t, r, c = np.concatenate(truth), np.concatenate(raw), np.concatenate(calibrated)
    return expected_calibration_error(t, r) > expected_calibration_error(t, c)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    order = np.argsort(s, kind="stable")
    ranks = np.empty(s.size)
    sorted_s = s[order]
    # average ranks of ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# -- sampling-error components (NannyML 0.13's, from the reference) ------------------------------
def _auc_placement_variance(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    if y.mean() > 0.5:
        y, s = 1 - y, 1 - s
    order = np.argsort(s, kind="stable")
    y_sorted = y[order]
    positions = np.flatnonzero(y_sorted == 1)
    # negatives ranked below each positive, as a share of the negatives (NannyML drops rank 0)
    positions = positions[positions > 0]
    below = positions - np.searchsorted(positions, positions)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    placements = below / n_neg if n_neg else np.zeros(0)
    return float(np.var(placements)) if placements.size else float("nan"), n_pos / y.size


def _pair_components(y: np.ndarray, p: np.ndarray) -> dict[str, tuple[float, float]]:
    """(variance, share) per metric of one class against the rest; y, p as 0/1 arrays."""
    tp = (y == 1) & (p == 1)
    fp = (y == 0) & (p == 1)
    fn = (y == 1) & (p == 0)
    n = y.size

    def var(ones: int, zeros: int) -> float:
        total = ones + zeros
        return float(np.var(np.r_[np.ones(ones), np.zeros(zeros)])) if total else float("nan")

    n_tp, n_fp, n_fn = int(tp.sum()), int(fp.sum()), int(fn.sum())
    out = {
        "precision": (var(n_tp, n_fp), int(p.sum()) / n),
        "recall": (var(n_tp, n_fn), int(y.sum()) / n),
    }
    return out | {"f1": (var(n_tp, n_fp + n_fn), (n_tp + n_fp + n_fn) / n)}


def _f1_binary(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    tp = int(((y == 1) & (p == 1)).sum())
    fp = int(((y == 0) & (p == 1)).sum())
    fn = int(((y == 1) & (p == 0)).sum())
    total = tp + fp + fn
    if not total:
        return float("nan"), 0.0
    factor = total / ((fn + fp) * 0.5 + tp)
    values = np.r_[np.ones(tp), np.zeros(fn + fp)] * factor
    return float(np.std(values)) ** 2, total / y.size


def fit_reference(
    task: str,
    classes: Sequence[str],
    scores: np.ndarray,
    predicted: np.ndarray,
    actual: np.ndarray,
) -> dict[str, Any]:
    """What the estimate needs from the reference: a calibration map per class and the components
    of the sampling error per metric.

    Parameters
    ----------
    task : {"binary_classification", "multiclass_classification"}
    classes : the classes estimated (binary: the positive label alone; multiclass: the model's labels)
    scores : (n,) positive-class scores (binary) or (n, k) per-class scores in ``classes`` order
    predicted, actual : (n,) labels (str), only rows with every one of them
    """
    k = len(classes)
    s = np.asarray(scores, dtype=float).reshape(len(actual), -1)
    predicted, actual = np.asarray(predicted).astype(str), np.asarray(actual).astype(str)
    maps, fitted = [], []
    for i, c in enumerate(classes):
        y = (actual == c).astype(int)
        if needs_calibration(s[:, i], y):
            maps.append(isotonic_fit(s[:, i], y))
            fitted.append(True)
        else:
            maps.append(IDENTITY)
            fitted.append(False)
    components: dict[str, Any] = {}
    correct = (predicted == actual).astype(float)
    components["accuracy"] = {"pairs": [[float(np.var(correct)), 1.0]], "factor": 1.0}
    if task == "binary_classification":
        y, p = (actual == classes[0]).astype(int), (predicted == classes[0]).astype(int)
        pairs = _pair_components(y, p)
        for metric in ("precision", "recall"):
            components[metric] = {"pairs": [list(pairs[metric])], "factor": 1.0}
        components["f1"] = {"pairs": [list(_f1_binary(y, p))], "factor": 1.0}
        components["roc_auc"] = {"pairs": [list(_auc_placement_variance(y, s[:, 0]))], "factor": 1.0}
    else:
        per_class = [_pair_components((actual == c).astype(int), (predicted == c).astype(int)) for c in classes]
        for metric in ("precision", "recall", "f1"):
            components[metric] = {"pairs": [list(pc[metric]) for pc in per_class], "factor": 1.0}
        components["roc_auc"] = {
            "pairs": [list(_auc_placement_variance((actual == c).astype(int), s[:, i])) for i, c in enumerate(classes)],
            "factor": 1.2,
        }
    for value in components.values():
        value["pairs"] = [[_json_float(v), _json_float(f)] for v, f in value["pairs"]]
    return {
        "task": task,
        "classes": list(classes),
        "calibration": maps,
        "calibrated": fitted,
        "components": components,
        "rows": int(len(actual)),
        "k": k,
    }


def _json_float(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


# -- hourly statistics --------------------------------------------------------------------------
def calibrated_probabilities(fit: dict[str, Any], scores: np.ndarray) -> np.ndarray:
    """(n, k) calibrated probabilities; multiclass rows normalised to sum to one (uniform if all 0)."""
    s = np.asarray(scores, dtype=float).reshape(scores.shape[0], -1)
    p = np.column_stack([calibrate(s[:, i], m) for i, m in enumerate(fit["calibration"])])
    if fit["task"] == "binary_classification":
        return p
    total = p.sum(axis=1, keepdims=True)
    return np.asarray(np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total != 0))


def hour_stats(fit: dict[str, Any], scores: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """The estimation statistics (:mod:`seia.stats.estimation`) of some rows, in numpy: what the SQL
    of :class:`~seia_drift.repositories.performance.PerformanceRepository` stores per hour."""
    s = np.asarray(scores, dtype=float).reshape(len(predicted), -1)
    predicted = np.asarray(predicted).astype(str)
    p = calibrated_probabilities(fit, s)
    classes = []
    for i, c in enumerate(fit["classes"]):
        is_c = predicted == c
        bucket = np.searchsorted(ESTIMATE_EDGES, s[:, i], side="right")
        counts = np.bincount(bucket, minlength=ESTIMATE_BINS)
        expected = np.bincount(bucket, weights=p[:, i], minlength=ESTIMATE_BINS)
        kept = np.flatnonzero(counts)
        classes.append(
            {
                "pred": int(is_c.sum()),
                "tp": float(p[is_c, i].sum()),
                "fn": float(p[~is_c, i].sum()),
                "size": ESTIMATE_BINS,
                "bins": kept.tolist(),
                "counts": counts[kept].tolist(),
                "expected": expected[kept].tolist(),
            }
        )
    return {"n": int(len(predicted)), "classes": classes}


def calibrated_sql(score: sql.Composable, fit: dict[str, list[float]]) -> sql.Composable:
    """PostgreSQL expression of the map at ``score`` (as :func:`calibrate`)."""
    x, y = sql.Literal(list(map(float, fit["x"]))), sql.Literal(list(map(float, fit["y"])))
    m = len(fit["x"])
    return sql.SQL(
        "(SELECT CASE WHEN i = 0 THEN ({y}::float8[])[1] WHEN i >= {m} THEN ({y}::float8[])[{m}]"
        " ELSE ({y}::float8[])[i] + ({s} - ({x}::float8[])[i]) * (({y}::float8[])[i + 1] - ({y}::float8[])[i])"
        " / (({x}::float8[])[i + 1] - ({x}::float8[])[i]) END"
        " FROM (SELECT width_bucket({s}, {x}::float8[]) AS i) b)"
    ).format(s=score, x=x, y=y, m=sql.Literal(m))
