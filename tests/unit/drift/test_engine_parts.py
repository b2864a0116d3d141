"""Pure parts of the drift engine: settings, cause ranking, unit-change detection, performance
statistics, drift messages. No database."""

from __future__ import annotations

import dataclasses
import math

import pytest

from seia_drift import performance
from seia_drift.causes import FeatureSegments, rank_performance, rank_shift, rank_within_feature
from seia_drift.layout import LABEL
from seia_drift.planner import DriftMessage
from seia_drift.repositories.segments import SegmentStats
from seia_drift.settings import DriftSettings
from seia_drift.steps.alerts import unit_change_factor

# -- settings ---------------------------------------------------------------------------------


def test_settings_default_when_the_model_sets_nothing():
    s = DriftSettings.from_model({})
    assert (s.window, s.min_rows, s.coverage_threshold, s.accuracy_drop, s.reference_policy, s.webhook_url) == (
        "day",
        100,
        0.5,
        0.05,
        "uploaded_or_first_window",
        None,
    )


def test_settings_read_thresholds_and_webhook():
    s = DriftSettings.from_model(
        {
            "window": "hour",
            "min_rows": 500,
            "thresholds": {"psi": 0.3},
            "performance_drop": 0.1,
            "webhook_url": "https://hooks.example/seia",
        }
    )
    assert (s.window, s.thresholds.min_rows, s.thresholds.psi, s.accuracy_drop) == ("hour", 500, 0.3, 0.1)


def test_settings_read_segment_top_values_as_the_registry_checks_it():
    assert DriftSettings.from_model({}).segment_top_values == 20
    assert DriftSettings.from_model({"segment_top_values": 3}).segment_top_values == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"window": "week"},
        {"thresholds": {"nope": 1}},
        {"webhook_url": "ftp://x"},
        {"coverage_threshold": 2},
        {"reference_policy": "latest"},
        {"segment_top_values": 0},
        {"segment_top_values": "5"},
    ],
)
def test_bad_settings_name_the_key(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        DriftSettings.from_model(bad)


# -- causes -----------------------------------------------------------------------------------


def _segments(name, ref, cur, edges=(0.0, 1.0)):
    """ref/cur: {segment: (rows, errors)} with every row labelled; predictions carry the error too."""

    def stats(d):
        return {k: SegmentStats(rows=n, pred_sum=e, pred_n=n, labeled=n, err_sum=e, y_sum=e) for k, (n, e) in d.items()}

    return FeatureSegments(name, "numeric", list(edges), stats(ref), stats(cur))


def test_the_feature_concentrating_the_new_errors_ranks_first():
    # income: all new errors in segment 0; age: errors spread evenly over its segments
    income = _segments(
        "income", {"0": (100, 10), "1": (100, 10), "2": (100, 10)}, {"0": (100, 70), "1": (100, 10), "2": (100, 10)}
    )
    age = _segments(
        "age", {"0": (100, 10), "1": (100, 10), "2": (100, 10)}, {"0": (100, 30), "1": (100, 30), "2": (100, 30)}
    )
    causes = rank_performance([age, income], "accuracy", 0.9, 0.7, regression=False)
    assert [c.feature for c in causes] == ["income", "age"]
    assert causes[0].segment == "income < 0.00"
    assert causes[0].sentence.startswith(
        "accuracy fell 0.90 → 0.70; 100% of the drop comes from rows with income < 0.00"
    )


def test_a_segment_field_whose_one_value_holds_the_new_errors_is_named_by_its_value():
    # region (a declared segment field): eu's error rate 10% -> 80% while us merely grows (40% -> 60% of the
    # rows, still 10% errors); x: the new errors spread over its segments
    region = _segments(
        "region",
        {"eu": (300, 30), "us": (400, 40), "ap": (300, 30)},
        {"eu": (200, 160), "us": (600, 60), "ap": (200, 20)},
    )
    region = dataclasses.replace(region, kind="categorical", edges=None, segment_field=True)
    x = _segments("x", {"0": (500, 50), "1": (500, 50)}, {"0": (500, 120), "1": (500, 120)})
    causes = rank_performance([x, region], "accuracy", 0.9, 0.76, regression=False)
    assert [(c.feature, c.segment) for c in causes][:2] == [("region", "region = eu"), ("x", "x < 0.00")]
    assert causes[0].details["segment_field"] is True and "segment_field" not in causes[1].details
    assert "of the drop comes from rows in region = eu, whose error rate rose 10% → 80%" in causes[0].sentence
    # a naive ranking by share growth names us; by errors alone, us's 60 errors are a third of eu's
    assert all(c.segment != "region = us" for c in causes)


def test_a_shift_the_model_ignores_explains_no_prediction_drift():
    # both features shift from segment 0 to 1; only x's segments differ in mean prediction
    def seg(name, means):
        ref = {k: SegmentStats(rows=100, pred_sum=m * 100, pred_n=100) for k, m in zip(("0", "1"), means)}
        cur = {
            "0": SegmentStats(rows=20, pred_sum=means[0] * 20, pred_n=20),
            "1": SegmentStats(rows=180, pred_sum=means[1] * 180, pred_n=180),
        }
        return FeatureSegments(name, "numeric", [0.0], ref, cur)

    causes = rank_shift([seg("noise", (0.5, 0.5)), seg("x", (0.2, 0.8))], "mean score", 0.5, 0.74, "pred_sum", "pred_n")
    assert causes[0].feature == "x" and causes[0].score == pytest.approx(1.0)
    assert causes[-1].feature == "noise" and causes[-1].score == 0.0


def test_a_label_change_no_feature_explains_is_a_label_shift():
    flat = FeatureSegments(
        "x",
        "numeric",
        [0.0],
        {"0": SegmentStats(rows=100, labeled=100, y_sum=30), "1": SegmentStats(rows=100, labeled=100, y_sum=30)},
        {"0": SegmentStats(rows=100, labeled=100, y_sum=60), "1": SegmentStats(rows=100, labeled=100, y_sum=60)},
    )
    causes = rank_shift([flat], "share of label 'yes'", 0.3, 0.6, "y_sum", "labeled", label_candidate="yes")
    assert causes[0].feature == LABEL and causes[0].sentence.endswith("the label prior changed (label shift)")


def test_within_a_feature_the_segment_that_grew_most_comes_first():
    fs = FeatureSegments(
        "plan",
        "categorical",
        None,
        {"free": SegmentStats(rows=90), "pro": SegmentStats(rows=10)},
        {"free": SegmentStats(rows=50), "pro": SegmentStats(rows=10), "zeta": SegmentStats(rows=40)},
    )
    causes = rank_within_feature(fs)
    assert (
        causes[0].sentence == "rows with plan = 'zeta' went from 0% to 40% of the window (never seen in the reference)"
    )


# -- unit changes -----------------------------------------------------------------------------


def test_a_thousandfold_spread_with_a_consistent_mean_is_a_unit_change():
    assert unit_change_factor({"mean_ref": 2.0, "mean_cur": 2000.0, "std_ref": 0.5, "std_cur": 510.0}) == 1000.0
    # centred features: the mean says nothing, the spread decides
    assert unit_change_factor({"mean_ref": -0.01, "mean_cur": 30.0, "std_ref": 1.0, "std_cur": 1000.0}) == 1000.0


def test_a_shift_is_not_a_unit_change():
    assert unit_change_factor({"mean_ref": 0.0, "mean_cur": 1.0, "std_ref": 1.0, "std_cur": 1.0}) is None
    assert unit_change_factor({"mean_ref": 1.0, "mean_cur": 5000.0, "std_ref": 1.0, "std_cur": 1000.0}) is None


# -- performance statistics -------------------------------------------------------------------


def test_hourly_binary_statistics_merge_into_the_window_metrics():
    hour1 = performance.binary_stats([("yes", "yes", 900, 3, 0.3), ("no", "yes", 800, 1, 1.6)], "yes")
    hour2 = performance.binary_stats([("no", "no", 100, 4, 0.4), ("yes", "no", None, 2, None)], "yes")
    m = performance.metrics(performance.merge(hour1, hour2))
    assert (m["n"], m["accuracy"], m["precision"], m["recall"], m["scored"]) == (10, 0.7, 0.75, 0.6, 8)
    assert m["roc_auc"] == 1.0


def test_regression_metrics_from_sums():
    m = performance.metrics(performance.regression_stats((2, 1.0, 0.5, 3.0, 5.0)))
    assert (m["n"], m["mae"], m["rmse"]) == (2, 0.5, 0.5)


def test_no_labels_give_no_metrics():
    assert performance.metrics(None) == {"n": 0}
    assert math.isclose(
        performance.metrics(performance.multiclass_stats([("a", "a", 3), ("b", "a", 1)], ("a", "b")))["accuracy"], 0.75
    )


# -- messages ---------------------------------------------------------------------------------


def test_drift_messages_round_trip_and_reject_garbage():
    m = DriftMessage("acme", "churn")
    assert DriftMessage.from_json(m.to_json()) == m
    with pytest.raises(ValueError):
        DriftMessage.from_json('{"tenant": 1}')
