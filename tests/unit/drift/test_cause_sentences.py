"""Cause sentences in plain words: shares within 0–100% (or "more than all", and why), and each kind of
incident speaking of its own quantity (score, predicted class share, label share, error rate)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from seia.stats import NumericSketch
from seia_drift.causes import FeatureSegments, rank_performance, rank_shift
from seia_drift.layout import PREDICTION, SCORE
from seia_drift.repositories.segments import SegmentStats
from seia_drift.steps.causes import CauseStep


def _percents(sentence: str) -> list[int]:
    return [int(p) for p in re.findall(r"(-?\d+)%", sentence)]


def _scores(name, ref, cur):
    """ref/cur: {segment: (rows, mean score)}."""

    def stats(d):
        return {k: SegmentStats(rows=n, pred_sum=m * n, pred_n=n) for k, (n, m) in d.items()}

    return FeatureSegments(name, "numeric", [0.0], stats(ref), stats(cur))


def test_a_shift_larger_than_a_small_change_is_more_than_all_of_it_and_the_sentence_says_why():
    # x moves from half its rows to 80% in its high-score segment (the mix alone: +0.18), while the scores
    # fall inside both segments: the mean score moves only 0.50 → 0.52. A naive share says "796%".
    x = _scores("x", {"0": (100, 0.2), "1": (100, 0.8)}, {"0": (40, 0.1), "1": (160, 0.625)})
    causes = rank_shift([x], "mean score", 0.5, 0.52, "pred_sum", "pred_n")
    sentence = causes[0].sentence
    assert causes[0].details["explained_share"] > 5  # what the naive sentence printed as a percentage
    assert "explains more than all of the change" in sentence
    assert sentence.endswith("within segments the mean score moved the other way, offsetting part of it")
    assert all(0 <= p <= 100 for p in _percents(sentence)), sentence
    assert causes[0].score == 1.0


def test_a_concept_drift_beyond_the_whole_drop_says_more_than_all_and_that_errors_fell_elsewhere():
    # z's rows keep their shares; the error rate rises 10% → 40% in one half and falls to 5% in the other:
    # the first half carries 0.15 of a 0.125 drop in accuracy. A naive share says "120% of the drop".
    def stats(d):
        return {k: SegmentStats(rows=n, labeled=n, err_sum=e) for k, (n, e) in d.items()}

    z = FeatureSegments(
        "z", "numeric", [0.0], stats({"0": (200, 20), "1": (200, 20)}), stats({"0": (200, 80), "1": (200, 10)})
    )
    causes = rank_performance([z], "accuracy", 0.9, 0.775, regression=False)
    sentence = causes[0].sentence
    assert causes[0].details["share_of_change"] > 1.1
    assert "more than all of the drop comes from rows with z < 0.00" in sentence
    assert sentence.endswith("error rate elsewhere fell")
    assert all(0 <= p <= 100 for p in _percents(sentence)), sentence


def test_a_shift_that_worked_against_the_change_is_not_said_to_explain_zero_percent_of_it():
    # y's rows move to its low-score segment while the mean score rises (the other feature explains it)
    y = _scores("y", {"0": (100, 0.2), "1": (100, 0.8)}, {"0": (150, 0.5), "1": (50, 0.9)})
    causes = rank_shift([y], "mean score", 0.5, 0.6, "pred_sum", "pred_n")
    assert "worked against the change" in causes[0].sentence
    assert "explains" not in causes[0].sentence and causes[0].score == 0.0


def test_label_and_class_shares_are_written_in_percent_not_as_a_mean():
    x = FeatureSegments(
        "x",
        "numeric",
        [0.0],
        {"0": SegmentStats(rows=100, labeled=100, y_sum=10), "1": SegmentStats(rows=100, labeled=100, y_sum=50)},
        {"0": SegmentStats(rows=40, labeled=40, y_sum=4), "1": SegmentStats(rows=160, labeled=160, y_sum=80)},
    )
    causes = rank_shift([x], "share of label 'yes'", 0.3, 0.42, "y_sum", "labeled", label_candidate="yes", shares=True)
    by_feature = {c.feature: c.sentence for c in causes}
    assert by_feature["x"].startswith("share of label 'yes' went 30% → 42%; the shift of x explains 100% of the change")
    assert "(in the reference their share of label 'yes' is 50%)" in by_feature["x"]
    assert "mean score" not in " ".join(by_feature.values())


def _step(task: str, scored: bool) -> CauseStep:
    step = CauseStep()
    step._ctx = SimpleNamespace(model=SimpleNamespace(task=task))  # type: ignore[assignment]
    edges = [0.25, 0.5, 0.75]
    reference = NumericSketch.from_values([0.1, 0.6, 0.7] if scored else [], edges).to_dict(include_edges=False)
    step._bins = {SCORE: SimpleNamespace(edges=edges, reference=reference)}
    return step


def _incident(kind: str, subject: str):
    return SimpleNamespace(kind=kind, subject=subject)


def _flag(category: str, ref: float, cur: float):
    return SimpleNamespace(
        details={"statistics": {"top_increase": {"category": category, "ref_share": ref, "cur_share": cur}}}
    )


def test_each_kind_of_incident_speaks_of_its_own_quantity():
    binary = _step("binary_classification", scored=True)
    # score drift: the mean score
    assert binary._quantity(_incident("prediction_drift", SCORE), [_flag("x", 0, 0)], "yes") == (
        "mean score",
        False,
        None,
    )
    # drift of the predicted class: its share first (from the window's statistics, the rest of two classes
    # when the class that grew is the other one), then the mean score that decides it
    what, shares, lead = binary._quantity(_incident("prediction_drift", PREDICTION), [_flag("no", 0.6, 0.3)], "yes")
    assert (what, shares, lead) == ("mean score", False, "share of predicted 'yes' went 40% → 70%")
    # without scores the segments hold the predicted class itself: its share is decomposed
    unscored = _step("binary_classification", scored=False)
    assert unscored._quantity(_incident("prediction_drift", PREDICTION), [_flag("yes", 0.4, 0.7)], "yes") == (
        "share of predicted 'yes'",
        True,
        None,
    )
    # label drift: the label's share, never a score
    assert binary._quantity(_incident("label_drift", "__label__"), [], "yes") == ("share of label 'yes'", True, None)
    multiclass = _step("multiclass_classification", scored=False)
    assert multiclass._quantity(_incident("prediction_drift", PREDICTION), [], "b") == (
        "share of predicted 'b'",
        True,
        None,
    )
    regression = _step("regression", scored=False)
    assert regression._quantity(_incident("label_drift", "__label__"), [], None) == ("mean label", False, None)
    assert regression._quantity(_incident("prediction_drift", PREDICTION), [], None) == ("mean prediction", False, None)


def test_a_predicted_class_drift_sentence_leads_with_the_class_share_then_the_score_that_decides_it():
    x = _scores("x", {"0": (100, 0.2), "1": (100, 0.8)}, {"0": (20, 0.2), "1": (180, 0.8)})
    causes = rank_shift(
        [x], "mean score", 0.5, 0.74, "pred_sum", "pred_n", lead="share of predicted 'yes' went 40% → 70%"
    )
    assert causes[0].sentence.startswith(
        "share of predicted 'yes' went 40% → 70%; the mean score that decides it went 0.50 → 0.74; "
        "the shift of x explains 100% of that change: rows with x ≥ 0.00 went from 50% to 90% of the window"
    )
