"""The statistics core: sketches, drift tests, effect sizes, verdicts and performance metrics.

Pure Python, so the query function (which must import fast) and the drift engine compute every
statistic on sketches with the same code; numpy appears only where the engine buckets raw values
(``seia_drift.stats.binning``). No database and no AWS here: everything takes and returns plain
values. The drift metrics and the thresholds' defaults and ranges are registered in
:mod:`seia.registry`.
"""

from . import estimation, performance
from .categorical import Chi2Result, aligned_counts, chi2_test, unseen_share
from .classification import (
    BinaryCounts,
    BinaryMetrics,
    MulticlassCounts,
    MulticlassMetrics,
    binary_metrics,
    multiclass_metrics,
    score_edges,
)
from .divergence import PSI_EPSILON, js_distance, psi
from .drift import (
    CategoricalDrift,
    Comparison,
    NumericDrift,
    Pooled,
    categorical_drift,
    column_drift,
    drift_statistics,
    numeric_drift,
)
from .missing import MissingRateChange, missing_rate, missing_rate_change
from .multiple_testing import benjamini_hochberg
from .numeric import (
    Binned,
    KSResult,
    cdf_gap,
    coarse_counts,
    coarse_starts,
    group_counts,
    ks_test,
    wasserstein_distance,
)
from .regression import RegressionMetrics, RegressionSums, regression_metrics
from .sketches import (
    CategoricalSketch,
    NumericSketch,
    bucket_of,
    merge_all,
    merge_categorical_dicts,
    merge_dicts,
    merge_moments,
    moments_of,
    sketch_from_dict,
)
from .special import chi2_isf, chi2_sf, gammaincc, ks_sf, normal_sf, smirnov_sf
from .verdicts import DRIFT, INSUFFICIENT_DATA, NO_DRIFT, FeatureVerdict, Thresholds, bar, judge_window, severity

__all__ = [
    "Binned",
    "DRIFT",
    "INSUFFICIENT_DATA",
    "NO_DRIFT",
    "PSI_EPSILON",
    "BinaryCounts",
    "BinaryMetrics",
    "CategoricalDrift",
    "CategoricalSketch",
    "Chi2Result",
    "Comparison",
    "FeatureVerdict",
    "KSResult",
    "MissingRateChange",
    "MulticlassCounts",
    "MulticlassMetrics",
    "NumericDrift",
    "NumericSketch",
    "Pooled",
    "RegressionMetrics",
    "RegressionSums",
    "Thresholds",
    "aligned_counts",
    "benjamini_hochberg",
    "binary_metrics",
    "bucket_of",
    "categorical_drift",
    "cdf_gap",
    "chi2_isf",
    "chi2_sf",
    "chi2_test",
    "coarse_counts",
    "coarse_starts",
    "column_drift",
    "drift_statistics",
    "gammaincc",
    "group_counts",
    "js_distance",
    "bar",
    "judge_window",
    "ks_sf",
    "ks_test",
    "merge_all",
    "merge_categorical_dicts",
    "merge_dicts",
    "merge_moments",
    "missing_rate",
    "missing_rate_change",
    "moments_of",
    "multiclass_metrics",
    "normal_sf",
    "numeric_drift",
    "psi",
    "regression_metrics",
    "score_edges",
    "severity",
    "sketch_from_dict",
    "smirnov_sf",
    "unseen_share",
    "estimation",
    "performance",
    "wasserstein_distance",
]
