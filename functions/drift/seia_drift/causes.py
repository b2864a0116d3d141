"""Probable causes of an alert: (feature, segment) pairs ranked by how much of the change they explain.

Pure functions over per-segment statistics of the reference and of the alert's window (see
:mod:`seia_drift.repositories.segments`). With shares :math:`p` of rows and a per-segment
quantity :math:`t` (error rate, mean prediction, label share), for every feature the segments
partition the rows, so

.. math:: \\bar t_w - \\bar t_r = \\sum_s (p_{ws} t_{ws} - p_{rs} t_{rs}).

* **Performance**: a segment group's contribution is its term of that sum; its score is its share
  of the drop minus its share of rows (the *lift*): a feature whose segments all carry their fair
  share of the new errors explains nothing. Groups are single segments and, for numeric
  features, the tails ``x < q`` and ``x ≥ q``.
* **Prediction and label drift**: the part of the change explained by a feature's shift alone is
  :math:`\\sum_s (p_{ws} - p_{rs}) t_{rs}`: share shift × the feature's relation to the prediction
  (label) in the reference, so a drifting feature the model ignores explains nothing. For label
  drift the label itself (a change of the label prior) is a candidate, scored by what no feature
  explains.
* **Feature drift and data quality**: segments of the feature, ranked by share shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seia_drift.layout import LABEL
from seia_drift.repositories.alerts import Cause
from seia_drift.repositories.segments import SegmentStats

MAX_CAUSES = 5


@dataclass
class FeatureSegments:
    feature: str
    kind: str
    edges: list[float] | None
    ref: dict[str | None, SegmentStats] = field(default_factory=dict)
    cur: dict[str | None, SegmentStats] = field(default_factory=dict)


def _fmt(x: float) -> str:
    if abs(x) >= 1e4 or (0 < abs(x) < 1e-3):
        return f"{x:.3g}"
    return f"{x:.3g}" if abs(x) >= 100 else f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def describe(fs: FeatureSegments, group: tuple[Any, ...]) -> str:
    """Words for a segment group: ('one', key), ('below', k) or ('above', k)."""
    how, key = group
    if how == "one" and key is None:
        return f"{fs.feature} missing"
    if fs.kind == "categorical":
        return f"{fs.feature} = {key!r}"
    e = fs.edges or []
    if how == "below":
        return f"{fs.feature} < {_fmt(e[key - 1])}"
    if how == "above":
        return f"{fs.feature} ≥ {_fmt(e[key - 1])}"
    b = int(key)
    if b == 0:
        return f"{fs.feature} < {_fmt(e[0])}"
    if b >= len(e):
        return f"{fs.feature} ≥ {_fmt(e[-1])}"
    return f"{_fmt(e[b - 1])} ≤ {fs.feature} < {_fmt(e[b])}"


def _groups(fs: FeatureSegments) -> list[tuple[tuple[Any, ...], list[Any]]]:
    """Candidate segment groups and their member keys."""
    keys = sorted(set(fs.ref) | set(fs.cur), key=lambda k: (k is None, str(k)))
    out: list[tuple[tuple[str, str | int | None], list[str | None]]] = [(("one", k), [k]) for k in keys]
    if fs.kind == "numeric" and fs.edges:
        n = len(fs.edges)
        for k in range(1, n + 1):
            out.append((("below", k), [str(b) for b in range(0, k)]))
            out.append((("above", k), [str(b) for b in range(k, n + 1)]))
    return out


def _sum(stats: Mapping[str | None, Any], keys: Iterable[str | None], attr: str) -> float:
    total: float = sum(getattr(stats[k], attr) for k in keys if k in stats)
    return total


def rank_performance(
    features: list[FeatureSegments], metric: str, ref_value: float, cur_value: float, regression: bool
) -> list[Cause]:
    causes = []
    for fs in features:
        l_r, l_w = _sum(fs.ref, fs.ref, "labeled"), _sum(fs.cur, fs.cur, "labeled")
        if not l_r or not l_w:
            continue
        delta = _sum(fs.cur, fs.cur, "err_sum") / l_w - _sum(fs.ref, fs.ref, "err_sum") / l_r
        if delta <= 0:
            continue
        best = None
        for group, keys in _groups(fs):
            c = _sum(fs.cur, keys, "err_sum") / l_w - _sum(fs.ref, keys, "err_sum") / l_r
            p_w, p_r = _sum(fs.cur, keys, "labeled") / l_w, _sum(fs.ref, keys, "labeled") / l_r
            if p_w >= 0.999:
                continue
            lift = c / delta - p_w
            if best is None or lift > best[0]:
                best = (lift, group, keys, c / delta, p_r, p_w)
        if best is None:
            continue
        lift, group, keys, share, p_r, p_w = best
        n_r, n_w = _sum(fs.ref, keys, "labeled"), _sum(fs.cur, keys, "labeled")
        e_r = _sum(fs.ref, keys, "err_sum") / n_r if n_r else float("nan")
        e_w = _sum(fs.cur, keys, "err_sum") / n_w if n_w else float("nan")
        verb = "rose" if regression else "fell"
        what = "mean absolute error" if regression else "error rate"
        err = (f"{_fmt(e_r)} → {_fmt(e_w)}") if regression else f"{_pct(e_r)} → {_pct(e_w)}"
        segment = describe(fs, group)
        sentence = (
            f"{metric} {verb} {_fmt(ref_value)} → {_fmt(cur_value)}; {_pct(share)} of the "
            f"{'rise' if regression else 'drop'} comes from rows with {segment}, whose share went from "
            f"{_pct(p_r)} to {_pct(p_w)} ({what} {err})"
        )
        causes.append(
            Cause(
                fs.feature,
                segment,
                round(lift, 6),
                sentence,
                {"share_of_change": share, "ref_share": p_r, "cur_share": p_w, "ref_error": e_r, "cur_error": e_w},
            )
        )
    return _top(causes)


def _explained(
    fs: FeatureSegments, attr_sum: str, attr_n: str
) -> tuple[float, tuple[Any, ...] | None, float, float, float]:
    """(explained change, best group, its ref share, cur share, its reference mean) by a feature's shift."""
    n_r, n_w = _sum(fs.ref, fs.ref, attr_n), _sum(fs.cur, fs.cur, attr_n)
    if not n_r or not n_w:
        return 0.0, None, 0.0, 0.0, 0.0
    overall = _sum(fs.ref, fs.ref, attr_sum) / n_r
    explained, best = 0.0, None
    for key in set(fs.ref) | set(fs.cur):
        r, w = fs.ref.get(key), fs.cur.get(key)
        p_r = getattr(r, attr_n) / n_r if r else 0.0
        p_w = getattr(w, attr_n) / n_w if w else 0.0
        mean_r = getattr(r, attr_sum) / getattr(r, attr_n) if r and getattr(r, attr_n) else overall
        term = (p_w - p_r) * (mean_r - overall)
        explained += term
        if best is None or abs(term) > abs(best[0]):
            best = (term, ("one", key), p_r, p_w, mean_r)
    assert best is not None  # n_r > 0: the reference has a segment
    return explained, best[1], best[2], best[3], best[4]


def rank_shift(
    features: list[FeatureSegments],
    what: str,
    ref_value: float,
    cur_value: float,
    attr_sum: str,
    attr_n: str,
    label_candidate: str | None = None,
) -> list[Cause]:
    """Prediction drift (``attr_sum='pred_sum'``) or label drift (``'y_sum'``)."""
    delta = cur_value - ref_value
    causes = []
    for fs in features:
        explained, group, p_r, p_w, mean_r = _explained(fs, attr_sum, attr_n)
        if group is None or not delta:
            continue
        share = explained / delta
        segment = describe(fs, group)
        sentence = (
            f"{what} went {_fmt(ref_value)} → {_fmt(cur_value)}; the shift of {fs.feature} explains "
            f"{_pct(max(share, 0))} of it: rows with {segment} went from {_pct(p_r)} to {_pct(p_w)} "
            f"of the window (in the reference their {what} is {_fmt(mean_r)})"
        )
        causes.append(
            Cause(
                fs.feature,
                segment,
                round(max(share, 0.0), 6),
                sentence,
                {"explained_share": share, "ref_share": p_r, "cur_share": p_w},
            )
        )
    if label_candidate is not None and delta:
        best = max((c.score for c in causes), default=0.0)
        sentence = (
            f"{what} went {_fmt(ref_value)} → {_fmt(cur_value)} and no feature's shift explains more than "
            f"{_pct(best)} of it: the label prior changed (label shift)"
        )
        causes.append(
            Cause(LABEL, label_candidate, round(max(0.0, 1.0 - best), 6), sentence, {"unexplained_share": 1.0 - best})
        )
    return _top(causes)


def rank_within_feature(fs: FeatureSegments, headline: str | None = None) -> list[Cause]:
    """Segments of one feature by share shift; ``headline`` (e.g. a unit change) comes first."""
    n_r, n_w = _sum(fs.ref, fs.ref, "rows"), _sum(fs.cur, fs.cur, "rows")
    causes = []
    if headline:
        causes.append(Cause(fs.feature, None, 1.0, headline, {}))
    if n_w:
        for group, keys in _groups(fs):
            if group[0] != "one":
                continue
            p_r = _sum(fs.ref, keys, "rows") / n_r if n_r else 0.0
            p_w = _sum(fs.cur, keys, "rows") / n_w
            if p_w <= p_r:
                continue
            segment = describe(fs, group)
            new = " (never seen in the reference)" if fs.kind == "categorical" and p_r == 0 and group[1] else ""
            sentence = f"rows with {segment} went from {_pct(p_r)} to {_pct(p_w)} of the window{new}"
            causes.append(
                Cause(fs.feature, segment, round(p_w - p_r, 6), sentence, {"ref_share": p_r, "cur_share": p_w})
            )
    return _top(causes)


def _top(causes: list[Cause]) -> list[Cause]:
    return sorted(causes, key=lambda c: (-c.score, c.feature, c.segment or ""))[:MAX_CAUSES]
