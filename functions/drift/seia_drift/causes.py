r"""Probable causes of an alert: what changed, and how much of the change it explains.

Pure functions over per-segment statistics of the reference and of the alert's window (stored
hourly and merged, see :mod:`seia_drift.repositories.segments`). A feature's segments (reference
deciles, categories, missing) partition the rows; with shares :math:`p` of rows and a per-segment
quantity :math:`t` (error rate or mean absolute error, mean score or predicted-class share, label
share or mean label) the change of the window's mean splits, for every feature, into

.. math::

    \bar t_w - \bar t_r = \underbrace{\sum_s (p_{ws} - p_{rs})\, t_{rs}}_{\text{mix}}
                        + \underbrace{\sum_s p_{ws} (t_{ws} - t_{rs})}_{\text{rate}}

*mix*: the population moved between the feature's segments, at reference rates; *rate*: the
quantity changed inside segments. Part of the rate term follows the shift itself:
:math:`\sum_s (p_{ws} - p_{rs}) (t_{ws} - t_{rs})` (the *interaction*) is what rows that moved into
a segment carry beyond its reference rate. An open-ended tail decile ("x ≥ q90") holds values far
beyond anything the reference saw once a feature shifts, where its reference rate knows nothing
(a model that saturates there errs in a way the reference never showed); a change of rates that
is the same in every segment (a concept change unrelated to the feature) adds nothing to it. So
the part of the change the feature's **shift** explains is mix + interaction
(:math:`\sum_s (p_{ws} - p_{rs})\, t_{ws}`), and causes rank by it.

* **Performance**: a feature is a shift cause when its shift explains a part of the drop that is
  both material (``MIN_SHIFT_SHARE``) and beyond sampling noise (``MIN_SHIFT_Z`` standard errors,
  from the noise of the shares and of the segments' rates). When no shift explains the drop, the cause is the segment
  group whose error rate rose most (its share of the rate term minus its share of rows): concept
  drift. Groups are single segments and, for numeric features, the tails ``x < q`` and ``x ≥ q``.
* **Prediction and label drift**: the same decomposition of the incident's own quantity: the mean
  score (score drift), the predicted class's share (prediction drift; a binary model with scores has
  its predicted class decided by them, so the mean score is decomposed and the sentence says so),
  the mean prediction (regression), the label's share or the mean label (label drift). For label drift the label itself
  (a change of the label prior) is a candidate, scored by what no feature's shift explains.
* **Feature drift and data quality**: segments of the feature, ranked by share shift.

A model's declared segment fields (docs/segments.md) are candidates like categorical features: ``region``
with its values as categories, so a model-wide drop confined to one region is named ``region = eu`` (a
concept drift there), and a region that merely grew, at unchanged rates, explains nothing.

Within a segment, the change of rate is shrunk towards the window's average change (``PRIOR_ROWS``
pseudo-rows) where it enters the shift's part, so a segment with a handful of window rows cannot
make a shift explain a drop by chance; a segment the reference lacks (a new category) starts from
the reference's overall rate. The shift's part weighs each segment by its rate in the window
(reference rate plus change), so a rare reference category (three rows, all errors) does not
weigh by its noisy reference rate once the window holds many of its rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from seia_drift.layout import LABEL
from seia_drift.repositories.incidents import Cause
from seia_drift.repositories.segments import SegmentStats

MAX_CAUSES = 5
PRIOR_ROWS = 20.0  # pseudo-rows shrinking a segment's change of rate towards the average change
MIN_SHIFT_SHARE = 0.15  # a shift explaining less of a drop is not named as its cause
MIN_SHIFT_Z = 3.0  # nor one within this many standard errors of what no shift gives

Key = str | None  # a segment key: a decile's index or a category as text, None for missing
Group = tuple[str, Any]  # ('one', key), ('below', k) or ('above', k)


@dataclass
class FeatureSegments:
    feature: str
    kind: str
    edges: list[float] | None
    ref: dict[str | None, SegmentStats] = field(default_factory=dict)
    cur: dict[str | None, SegmentStats] = field(default_factory=dict)
    segment_field: bool = False  # a declared segment field (``region``), not a feature: values are segment values

    @property
    def what(self) -> str:
        """The candidate in a sentence: "x", or "the segment field region"."""
        return f"the segment field {self.feature}" if self.segment_field else self.feature

    def rows(self, segment: str) -> str:
        """Rows of a segment in a sentence: "rows with x < 3", "rows in region = eu"."""
        return f"rows {'in' if self.segment_field else 'with'} {segment}"

    def marked(self, details: dict[str, Any]) -> dict[str, Any]:
        """A cause's details, saying when its candidate is a segment field."""
        return details | {"segment_field": True} if self.segment_field else details


def _fmt(x: float) -> str:
    if abs(x) >= 1e4 or (0 < abs(x) < 1e-3):
        return f"{x:.3g}"
    return f"{x:.3g}" if abs(x) >= 100 else f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _share(x: float) -> str:
    """A share of a change in words: within 0-100%, or "more than all"."""
    return "more than all" if x > 1.005 else _pct(min(max(x, 0.0), 1.0))


def describe(fs: FeatureSegments, group: Group) -> str:
    """Words for a segment group: ('one', key), ('below', k) or ('above', k)."""
    how, key = group
    if how == "one" and key is None:
        return f"{fs.feature} missing"
    if fs.segment_field:
        return f"{fs.feature} = {key}"  # as a segment incident's summary names it ("in region = eu")
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


def _groups(keys: list[Key], fs: FeatureSegments) -> list[tuple[Group, list[Key]]]:
    """Candidate segment groups and their member keys."""
    out: list[tuple[Group, list[Key]]] = [(("one", k), [k]) for k in keys]
    if fs.kind == "numeric" and fs.edges:
        # A decile no row fell in, on either side, has no key: the tails hold the deciles that have one.
        present = set(keys)
        n = len(fs.edges)
        for k in range(1, n + 1):
            below: list[Key] = [str(b) for b in range(0, k) if str(b) in present]
            above: list[Key] = [str(b) for b in range(k, n + 1) if str(b) in present]
            if below:
                out.append((("below", k), below))
            if above:
                out.append((("above", k), above))
    return out


@dataclass
class Decomposition:
    """One feature's split of a change of a mean quantity ``t`` over its segments.

    Per segment key: ``p_r``, ``p_w`` shares of rows, ``t_r`` the reference rate, ``t_w``
    the window rate, ``d`` its change and ``d_shrunk`` that change shrunk towards the average one
    (for the interaction, where a small segment's noisy change would otherwise weigh).
    """

    keys: list[Key]
    p_r: dict[Key, float]
    p_w: dict[Key, float]
    t_r: dict[Key, float]
    t_w: dict[Key, float]
    d: dict[Key, float]
    d_shrunk: dict[Key, float]
    n_r: float
    n_w: float
    mean_r: float
    mean_w: float

    @property
    def delta(self) -> float:
        return self.mean_w - self.mean_r

    @property
    def mix(self) -> float:
        return sum((self.p_w[k] - self.p_r[k]) * self.t_r[k] for k in self.keys)

    @property
    def rate(self) -> float:
        return sum(self.p_w[k] * self.d[k] for k in self.keys)

    @property
    def interaction(self) -> float:
        return sum((self.p_w[k] - self.p_r[k]) * self.d_shrunk[k] for k in self.keys)

    @property
    def shift(self) -> float:
        """The part of the change the feature's shift explains: mix + interaction."""
        return self.mix + self.interaction

    def shift_se(self, binary: bool) -> float:
        """Standard error of :attr:`shift`: noise of the shares (as if the feature had not moved) and
        of the segments' rates (a large real move times a noisy rate is noise too).

        A rate's variance is :math:`t (1 - t)` per row for a share or an error rate (``binary``),
        :math:`t^2` for a mean absolute error (absolute errors spread about as much as their mean).
        """
        w = {k: self.t_r[k] + self.d_shrunk[k] for k in self.keys}
        m = sum(self.p_r[k] * w[k] for k in self.keys)
        var = sum(self.p_r[k] * (w[k] - m) ** 2 for k in self.keys) * (1 / self.n_w + 1 / self.n_r)
        for k in self.keys:
            t = min(max(w[k], 0.0), 1.0) if binary else w[k]
            v = t * (1 - t) if binary else t * t
            n_r, n_w = self.p_r[k] * self.n_r, self.p_w[k] * self.n_w
            a = PRIOR_ROWS / (n_w + PRIOR_ROWS)  # weight of the reference rate in w (the rest is the window's)
            var_w = (a * a / n_r if n_r else 0.0) * v + ((1 - a) ** 2 / n_w if n_w else 0.0) * v
            var += (self.p_w[k] - self.p_r[k]) ** 2 * var_w
        return math.sqrt(max(var, 0.0))

    def shift_part(self, keys: list[Key]) -> float:
        """A group's term of :attr:`shift`, centred on the reference mean (moves out of it count)."""
        return sum((self.p_w[k] - self.p_r[k]) * (self.t_r[k] + self.d_shrunk[k] - self.mean_r) for k in keys)

    def rate_part(self, keys: list[Key]) -> float:
        return sum(self.p_w[k] * self.d[k] for k in keys)

    def share(self, keys: list[Key], p: dict[Key, float]) -> float:
        return sum(p[k] for k in keys)

    def mean(self, keys: list[Key], p: dict[Key, float], t: dict[Key, float]) -> float:
        n = sum(p[k] for k in keys)
        return sum(p[k] * t[k] for k in keys) / n if n else float("nan")


def decompose(fs: FeatureSegments, attr_sum: str, attr_n: str) -> Decomposition | None:
    """The decomposition of ``sum(attr_sum) / sum(attr_n)`` over the feature's segments."""
    n_r = sum(getattr(s, attr_n) for s in fs.ref.values())
    n_w = sum(getattr(s, attr_n) for s in fs.cur.values())
    if not n_r or not n_w:
        return None
    mean_r = sum(getattr(s, attr_sum) for s in fs.ref.values()) / n_r
    mean_w = sum(getattr(s, attr_sum) for s in fs.cur.values()) / n_w
    keys = sorted(set(fs.ref) | set(fs.cur), key=lambda k: (k is None, str(k)))
    p_r, p_w, t_r, t_w, raw = {}, {}, {}, {}, {}
    for k in keys:
        r, w = fs.ref.get(k), fs.cur.get(k)
        nr, nw = (getattr(r, attr_n) if r else 0), (getattr(w, attr_n) if w else 0)
        p_r[k], p_w[k] = nr / n_r, nw / n_w
        t_r[k] = getattr(r, attr_sum) / nr if nr else mean_r
        t_w[k] = getattr(w, attr_sum) / nw if nw else t_r[k]
        raw[k] = (t_w[k] - t_r[k], nw)
    # The change common to the feature's segments, measured where rows did not arrive (a segment
    # that gained rows may have gained them from a region the reference barely knew); each
    # segment's change is shrunk towards it, and a segment the window left empty takes it.
    kept = [k for k in keys if p_w[k] <= p_r[k] and raw[k][1]]
    common = sum(raw[k][1] * raw[k][0] for k in kept) / (sum(raw[k][1] for k in kept) + PRIOR_ROWS)
    shrunk = {k: (nw * dk + PRIOR_ROWS * common) / (nw + PRIOR_ROWS) for k, (dk, nw) in raw.items()}
    return Decomposition(keys, p_r, p_w, t_r, t_w, {k: v[0] for k, v in raw.items()}, shrunk, n_r, n_w, mean_r, mean_w)


def _terms(dec: Decomposition, delta: float) -> dict[str, float]:
    return {
        "mix_share": dec.mix / delta,
        "rate_share": dec.rate / delta,
        "interaction_share": dec.interaction / delta,
        "shift_share": dec.shift / delta,
    }


def rank_performance(
    features: list[FeatureSegments], metric: str, ref_value: float, cur_value: float, regression: bool
) -> list[Cause]:
    """Causes of a performance drop: shifts that explain it first, else concept drift in a segment."""
    what = "mean absolute error" if regression else "error rate"
    move = f"{metric} {'rose' if regression else 'fell'} {_fmt(ref_value)} → {_fmt(cur_value)}"
    err = (lambda v: _fmt(v)) if regression else _pct
    decomposed = [(fs, decompose(fs, "err_sum", "labeled")) for fs in features]
    decs = [(fs, d) for fs, d in decomposed if d is not None and d.delta > 0]
    shifts, causes = [], []
    for fs, dec in decs:
        share = dec.shift / dec.delta
        se = dec.shift_se(binary=not regression)
        z = dec.shift / se if se > 0 else 0.0
        if share >= MIN_SHIFT_SHARE and z >= MIN_SHIFT_Z:
            shifts.append((fs, dec, share))
    explained = max((share for _, _, share in shifts), default=0.0)
    named = {fs.feature for fs, _, _ in shifts}
    for fs, dec, share in shifts:
        group, keys = max(_groups(dec.keys, fs), key=lambda g: dec.shift_part(g[1]))
        segment = describe(fs, group)
        p_r, p_w = dec.share(keys, dec.p_r), dec.share(keys, dec.p_w)
        e_r, e_w = dec.mean(keys, dec.p_r, dec.t_r), dec.mean(keys, dec.p_w, dec.t_w)
        sentence = (
            f"{move}; the shift of {fs.what} explains {_share(share)} of the rise in {what} "
            f"({err(dec.mean_r)} → {err(dec.mean_w)}): {fs.rows(segment)} went from {_pct(p_r)} to {_pct(p_w)} "
            f"of the window ({what} there {err(e_r)} in the reference, {err(e_w)} now)"
        )
        if share > 1.005:
            sentence += "; error rates elsewhere fell, offsetting part of it"
        causes_details = {"cause": "shift", "ref_share": p_r, "cur_share": p_w, "ref_error": e_r, "cur_error": e_w}
        details = fs.marked(causes_details | _terms(dec, dec.delta))
        cause = Cause(fs.feature, segment, round(min(share, 1.0), 6), sentence, details)
        causes.append(cause)
    unexplained = max(0.0, 1.0 - explained)
    for fs, dec in decs:
        if fs.feature in named or dec.rate <= 0:
            continue
        best = None
        for group, keys in _groups(dec.keys, fs):
            p_w = dec.share(keys, dec.p_w)
            if p_w >= 0.999 or p_w <= 0:
                continue
            part = dec.rate_part(keys) / dec.rate
            lift = part - p_w
            if best is None or lift > best[0]:
                best = (lift, group, keys, part)
        if best is None:
            continue
        lift, group, keys, part = best
        segment = describe(fs, group)
        p_r, p_w = dec.share(keys, dec.p_r), dec.share(keys, dec.p_w)
        e_r, e_w = dec.mean(keys, dec.p_r, dec.t_r), dec.mean(keys, dec.p_w, dec.t_w)
        of_drop = dec.rate_part(keys) / dec.delta
        sentence = (
            f"{move}; {_share(of_drop)} of the drop comes from {fs.rows(segment)}, whose {what} rose "
            f"{err(e_r)} → {err(e_w)} while their share went {_pct(p_r)} → {_pct(p_w)}: concept drift "
            f"(no feature's shift explains the drop)"
        )
        if of_drop > 1.005:
            sentence += f"; {what} elsewhere fell"
        details = {"cause": "concept", "ref_share": p_r, "cur_share": p_w, "ref_error": e_r, "cur_error": e_w}
        causes.append(
            Cause(
                fs.feature,
                segment,
                round(unexplained * max(lift, 0.0), 6),
                sentence,
                fs.marked(details | {"share_of_change": of_drop} | _terms(dec, dec.delta)),
            )
        )
    # a shift that explains the drop comes before any concept drift (only "when no shift explains it")
    return sorted(causes, key=lambda c: (c.details["cause"] != "shift", -c.score, c.feature, c.segment or ""))[
        :MAX_CAUSES
    ]


def rank_shift(
    features: list[FeatureSegments],
    what: str,
    ref_value: float,
    cur_value: float,
    attr_sum: str,
    attr_n: str,
    label_candidate: str | None = None,
    *,
    shares: bool = False,
    lead: str | None = None,
) -> list[Cause]:
    """Prediction drift (``attr_sum='pred_sum'``) or label drift (``'y_sum'``): ``what`` names the quantity
    decomposed (mean score, share of predicted 'yes', share of label 'yes', mean label), ``shares`` says it is
    a share of rows (written in percent). ``lead`` opens each sentence when the incident's own quantity is not
    the one decomposed (a binary model's predicted class, decided by its scores: the mean score is decomposed).
    """
    delta = cur_value - ref_value
    causes = []
    if not delta:
        return []
    value = _pct if shares else _fmt
    if lead:
        move = f"{lead}; the {what} that decides it went {value(ref_value)} → {value(cur_value)}"
        change = "that change"
    else:
        move, change = f"{what} went {value(ref_value)} → {value(cur_value)}", "the change"
    for fs in features:
        dec = decompose(fs, attr_sum, attr_n)
        if dec is None:
            continue
        share = dec.shift / delta

        def toward(keys: list[Key], dec: Decomposition = dec) -> float:
            return dec.shift_part(keys) * (1 if delta > 0 else -1)

        group, keys = max(_groups(dec.keys, fs), key=lambda g: toward(g[1]))
        segment = describe(fs, group)
        p_r, p_w = dec.share(keys, dec.p_r), dec.share(keys, dec.p_w)
        t_r = dec.mean(keys, dec.p_r, dec.t_r)
        moved = (
            f"{fs.rows(segment)} went from {_pct(p_r)} to {_pct(p_w)} of the window "
            f"(in the reference their {what} is {value(t_r)})"
        )
        if share < -0.005:
            # a shift that pushed the other way explains none of the change: say so rather than "0%"
            sentence = f"{move}; the shift of {fs.what} worked against {change} (alone it would have moved the {what} the other way): {moved}"
        else:
            sentence = f"{move}; the shift of {fs.what} explains {_share(share)} of {change}: {moved}"
        if share > 1.005:
            sentence += f"; within segments the {what} moved the other way, offsetting part of it"
        causes.append(
            Cause(
                fs.feature,
                segment,
                round(min(max(share, 0.0), 1.0), 6),
                sentence,
                fs.marked({"explained_share": share, "ref_share": p_r, "cur_share": p_w} | _terms(dec, delta)),
            )
        )
    if label_candidate is not None:
        best = max((c.score for c in causes), default=0.0)
        sentence = f"{move} and no feature's shift explains more than {_pct(best)} of it: the label prior changed (label shift)"
        causes.append(
            Cause(LABEL, label_candidate, round(max(0.0, 1.0 - best), 6), sentence, {"unexplained_share": 1.0 - best})
        )
    return _top(causes)


def rank_within_feature(fs: FeatureSegments, headline: str | None = None) -> list[Cause]:
    """Segments of one feature by share shift; ``headline`` (e.g. a unit change) comes first."""
    n_r = sum(s.rows for s in fs.ref.values())
    n_w = sum(s.rows for s in fs.cur.values())
    causes = []
    if headline:
        causes.append(Cause(fs.feature, None, 1.0, headline, {}))
    if n_w:
        keys = sorted(set(fs.ref) | set(fs.cur), key=lambda k: (k is None, str(k)))
        for k in keys:
            p_r = fs.ref[k].rows / n_r if n_r and k in fs.ref else 0.0
            p_w = fs.cur[k].rows / n_w if k in fs.cur else 0.0
            if p_w <= p_r:
                continue
            segment = describe(fs, ("one", k))
            new = " (never seen in the reference)" if fs.kind == "categorical" and p_r == 0 and k else ""
            sentence = f"rows with {segment} went from {_pct(p_r)} to {_pct(p_w)} of the window{new}"
            causes.append(
                Cause(fs.feature, segment, round(p_w - p_r, 6), sentence, {"ref_share": p_r, "cur_share": p_w})
            )
    return _top(causes)


def _top(causes: list[Cause]) -> list[Cause]:
    return sorted(causes, key=lambda c: (-c.score, c.feature, c.segment or ""))[:MAX_CAUSES]
