"""Pure statistics of the drift engine: sketches, drift tests, verdicts, performance.

No database and no AWS here: everything takes and returns plain values, so the
engine can compute sketches in PostgreSQL (``width_bucket``) or in Python alike.
"""

from .binning import bucketize, fit_edges
from .categorical import CategoricalDrift, Chi2Result, categorical_drift, chi2_test, unseen_share
from .classification import (
    BinaryCounts,
    BinaryMetrics,
    MulticlassCounts,
    MulticlassMetrics,
    binary_metrics,
    multiclass_metrics,
    score_edges,
)
from .divergence import js_distance, psi
from .missing import MissingRateChange, missing_rate, missing_rate_change
from .multiple_testing import benjamini_hochberg
from .numeric import KSResult, NumericDrift, coarse_counts, ks_test, numeric_drift, wasserstein_distance
from .regression import RegressionMetrics, RegressionSums, regression_metrics
from .sketches import CategoricalSketch, NumericSketch, merge_all, sketch_from_dict
from .verdicts import FeatureVerdict, Thresholds, judge_window

__all__ = [
    "BinaryCounts",
    "BinaryMetrics",
    "CategoricalDrift",
    "CategoricalSketch",
    "Chi2Result",
    "FeatureVerdict",
    "KSResult",
    "MissingRateChange",
    "MulticlassCounts",
    "MulticlassMetrics",
    "NumericDrift",
    "NumericSketch",
    "RegressionMetrics",
    "RegressionSums",
    "Thresholds",
    "benjamini_hochberg",
    "binary_metrics",
    "bucketize",
    "categorical_drift",
    "chi2_test",
    "coarse_counts",
    "fit_edges",
    "js_distance",
    "judge_window",
    "ks_test",
    "merge_all",
    "missing_rate",
    "missing_rate_change",
    "multiclass_metrics",
    "numeric_drift",
    "psi",
    "regression_metrics",
    "score_edges",
    "sketch_from_dict",
    "unseen_share",
    "wasserstein_distance",
]
