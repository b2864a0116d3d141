"""The OpenAPI 3 description of Seia's HTTP API, served at ``GET /v1/openapi.json``.

A plain dict, so the query function pays nothing to import it. Routes that are designed but not
served yet carry ``x-seia-status: planned``; whoever implements one removes the mark, and a test
checks that the unmarked operations are exactly the routes the Chalice apps serve.
"""

from __future__ import annotations

import copy

from seia import scopes
from seia.registry import REGISTRY

PLANNED = "planned"
_MODEL_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_FEATURE_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"
_SEGMENT_FIELDS = {
    "type": "array",
    "maxItems": 3,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": _FEATURE_NAME},
    "description": "segment fields (docs/segments.md): categorical fields such as region or model_version that "
    "records carry beside their features; drift and performance are also followed per value of each (its "
    "segment_top_values most frequent values, the rest as other). Not a feature's name, nor reserved, nor "
    "score_<label>",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(properties: dict, required: list[str] | None = None, extra: bool = False, **kw) -> dict:
    body = {"type": "object", "properties": properties, "additionalProperties": extra}
    if required:
        body["required"] = required
    body.update(kw)
    return body


_TIME = {"type": "string", "format": "date-time"}
_SEVERITY = {"type": "string", "enum": ["low", "medium", "high"]}
_CHANGE = {"type": "string", "enum": ["opened", "escalated", "resolved"]}

# Delivery of incident changes: its state (the Alert's deliveries) and the webhook's body (webhooks below).
_DELIVERY_SCHEMAS = {
    "Delivery": _obj(
        {
            "channel": {"type": "string", "description": "the channel's name, else its type and host (never its URL)"},
            "channel_type": {"type": "string", "enum": ["slack", "webhook", "sns"]},
            "change": _CHANGE,
            "change_at": _TIME,
            "status": {
                "type": "string",
                "enum": ["pending", "sent", "failed", "dropped"],
                "description": "pending: not sent yet or to be retried at next_attempt_at; failed: gave up after "
                "its attempts; dropped: the channel left the settings",
            },
            "attempts": {"type": "integer"},
            "last_error": {"type": ["string", "null"]},
            "next_attempt_at": {"anyOf": [_TIME, {"type": "null"}]},
            "sent_at": {"anyOf": [_TIME, {"type": "null"}]},
        },
        ["channel", "channel_type", "change", "status", "attempts", "last_error", "sent_at"],
    ),
    "IncidentChanges": _obj(
        {
            "type": {"type": "string", "const": "incident_changes"},
            "id": {"type": "string", "description": "the Idempotency-Key header: the same on every retry"},
            "tenant": {"type": "string"},
            "model": {"type": "string"},
            "sent_at": _TIME,
            "changes": {
                "type": "array",
                "items": _obj(
                    {
                        "change_id": {"type": "integer"},
                        "change": _CHANGE,
                        "severity": _SEVERITY,
                        "at": _TIME,
                        "incident": _obj(
                            {
                                "id": {"type": "integer"},
                                "kind": {"type": "string"},
                                "subject": {"type": "string"},
                                "condition": {"type": "string"},
                                "granularity": {"type": "string"},
                                "status": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                                "peak_severity": _SEVERITY,
                                "first_window_start": _TIME,
                                "last_window_end": _TIME,
                                "windows_flagged": {"type": "integer"},
                                "segment": {
                                    "type": ["string", "null"],
                                    "description": "the segment value it was raised in ('region:eu'); null: model-wide",
                                },
                                "summary": {"type": ["string", "null"]},
                                "top_cause": {"type": ["string", "null"], "description": "the first cause, in words"},
                                "url": {"type": ["string", "null"], "description": "the incident in the dashboard"},
                            },
                            ["id", "kind", "subject", "condition", "status"],
                        ),
                    },
                    ["change_id", "change", "severity", "at", "incident"],
                ),
            },
        },
        ["type", "id", "tenant", "model", "sent_at", "changes"],
    ),
}

_SIGNATURE_TEXT = (
    "HMAC-SHA256 under the tenant's signing secret (`seia tenant signing-secret T`) of `<t>.<raw body>`: "
    "`t=<unix seconds>,v1=<hex>`. Recompute it over the raw bytes, compare in constant time, and refuse a `t` "
    "more than 5 minutes old. Absent while the tenant has no signing secret."
)
WEBHOOKS = {
    "incident_changes": {
        "post": {
            "summary": "The incident changes (opened, escalated, resolved) of one drift run for one model",
            "description": "Sent to each `webhook` channel of the model's `notifications` setting (and to its "
            "`webhook_url`): at most one request per run, retried on later runs with exponential backoff "
            "until a 2xx. Redirects are not followed. SNS channels receive the same JSON.",
            "parameters": [
                {
                    "name": "Seia-Signature",
                    "in": "header",
                    "schema": {"type": "string", "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"},
                    "description": _SIGNATURE_TEXT,
                },
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "the same for every attempt at the same changes: drop a repeat",
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IncidentChanges"}}},
            },
            "responses": {"2XX": {"description": "received; anything else (or no answer in 5 s) is retried"}},
        }
    }
}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_NEXT_CURSOR = {
    "type": ["string", "null"],
    "description": "pass as cursor for the next page (without `from`: the older windows); null at the end",
}
_SHARE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_ALERT = {
    "id": {"type": "string"},
    "model": {"type": "string"},
    "kind": {
        "type": "string",
        "enum": [
            "feature_drift",
            "prediction_drift",
            "label_drift",
            "performance",
            "data_quality",
            "multivariate_drift",
        ],
    },
    "subject": {"type": "string", "description": "the feature or the metric"},
    "condition": {
        "type": "string",
        "description": "distribution, missing_rate, new_category, unit_change, accuracy or rmse",
    },
    "segment": {
        "type": ["string", "null"],
        "description": "the segment value it was raised in ('region:eu': that segment drifted and the whole model "
        "did not flag the same); null for a model-wide incident",
    },
    "granularity": {"type": "string", "enum": ["hour", "day"]},
    "status": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
    "severity": {**_SEVERITY, "description": "of its last flagged window"},
    "peak_severity": _SEVERITY,
    "first_window_start": _TIME,
    "last_window_end": {**_TIME, "description": "the end of its last flagged window"},
    "windows_flagged": {"type": "integer", "minimum": 1},
    "opened_at": _TIME,
    "acknowledged_at": _nullable(_TIME),
    "note": {"type": ["string", "null"]},
    "resolved_at": _nullable(_TIME),
    "resolved_by": {
        "type": ["string", "null"],
        "enum": ["auto", "user", None],
        "description": "auto: resolve_after consecutive clean windows",
    },
    "summary": {"type": "string", "description": "one sentence a person can read"},
    "causes": {
        "type": "array",
        "items": _ref("AlertCause"),
        "description": "of the incident as a whole, ranked, most important first; the list returns at most 3",
    },
}
_ALERT_REQUIRED = [k for k in _ALERT if k != "deliveries"]

SCHEMAS: dict = {
    "Error": _obj(
        {
            "error": _obj(
                {
                    "code": {"type": "string", "description": "stable machine-readable code, e.g. validation_failed"},
                    "message": {"type": "string"},
                    "details": {
                        "type": "array",
                        "items": _obj(
                            {
                                "index": {"type": ["integer", "null"], "description": "which record of the batch"},
                                "field": {"type": ["string", "null"]},
                                "message": {"type": "string"},
                            },
                            ["index", "field", "message"],
                        ),
                    },
                },
                ["code", "message", "details"],
            )
        },
        ["error"],
    ),
    "Health": _obj(
        {"status": {"type": "string", "enum": ["ok"]}, "service": {"type": "string"}}, ["status", "service"]
    ),
    "Feature": _obj(
        {
            "name": {"type": "string", "pattern": _FEATURE_NAME},
            "type": {"type": "string", "enum": ["numeric", "categorical"]},
        },
        ["name", "type"],
    ),
    "ModelDefinition": _obj(
        {
            "name": {"type": "string", "pattern": _MODEL_NAME},
            "task": {"type": "string", "enum": ["binary_classification", "multiclass_classification", "regression"]},
            "features": {"type": "array", "minItems": 1, "maxItems": 500, "items": _ref("Feature")},
            "labels": {
                "type": "array",
                "minItems": 2,
                "maxItems": 1000,
                "items": {"type": ["string", "integer"]},
                "description": "classification only; for binary, [negative, positive]",
            },
            "segments": _SEGMENT_FIELDS,
            "settings": {"type": "object"},
        },
        ["name", "task", "features"],
    ),
    "ModelFeature": _obj(
        {
            "name": {"type": "string", "pattern": _FEATURE_NAME},
            "type": {"type": "string", "enum": ["numeric", "categorical"]},
            "added_at": {**_TIME, "description": "added by PATCH: records may leave it out (missing)"},
            "removed_at": {
                **_TIME,
                "description": "removed by PATCH: no longer stored nor judged; its slot and drift history stay",
            },
        },
        ["name", "type"],
    ),
    "FeatureChange": _obj(
        {
            "name": {"type": "string", "pattern": _FEATURE_NAME},
            "type": {"type": "string", "enum": ["numeric", "categorical"]},
            "removed": {"type": "boolean", "description": "true removes the feature (for good)"},
            "added_at": _TIME,
            "removed_at": _TIME,
        },
        ["name"],
        description="an entry of GET's features list; existing entries keep their name and type",
    ),
    "ModelPatch": _obj(
        {
            "name": {"type": "string", "description": "may be sent unchanged; a model is never renamed"},
            "task": {"type": "string", "description": "may be sent unchanged; the task never changes"},
            "features": {
                "type": "array",
                "maxItems": 500,
                "items": _ref("FeatureChange"),
                "description": "the whole list as GET gives it: existing entries in place with their name and type "
                '(a rename or retype is a 400), {"removed": true} to remove one, new features appended',
            },
            "labels": {
                "type": "array",
                "maxItems": 1000,
                "items": {"type": ["string", "integer"]},
                "description": "multiclass: the stored labels first, in order, new ones appended",
            },
            "segments": {
                **_SEGMENT_FIELDS,
                "description": "the stored segment fields first, in order, new ones appended (3 in all at most); "
                "a removal, rename or reorder is a 400 (rows store their values by slot)",
            },
            "settings": _ref("ModelSettings"),
            "created_at": {"description": "ignored (GET's body may be sent back)"},
        },
        description="the keys to change; see docs/lifecycle.md",
    ),
    "ModelDeleted": _obj(
        {"model": {"type": "string"}, "deleted": {"type": "boolean", "enum": [True]}}, ["model", "deleted"]
    ),
    "Model": _obj(
        {
            "name": {"type": "string"},
            "task": {"type": "string", "enum": ["binary_classification", "multiclass_classification", "regression"]},
            "features": {"type": "array", "items": _ref("ModelFeature")},
            "labels": {"type": "array", "items": {"type": "string"}},
            "segments": {**_SEGMENT_FIELDS, "description": "segment fields, in declaration order ([] for none)"},
            "created_at": _nullable(_TIME),
            "settings": {
                "type": "object",
                "description": "drift settings in force (see ModelSettings); {} for defaults",
            },
            "segment_values": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": "GET of a model that declares segments: per field, the values the drift engine "
                "follows, then 'other' (the rest); each is a value of the routes' `segment` parameter",
            },
        },
        ["name", "task", "features", "created_at"],
    ),
    "ModelList": _obj({"models": {"type": "array", "items": _ref("Model")}}, ["models"]),
    "FeatureValues": {
        "type": "object",
        "description": "feature name -> number, string or null",
        "additionalProperties": {"type": ["number", "string", "boolean", "null"]},
    },
    "SegmentValues": {
        "type": "object",
        "description": "segment field -> value (a string of at most 200 characters, or null: missing); a field left "
        "out is missing too. Only the model's segment fields; a model that declares none takes none",
        "additionalProperties": {"type": ["string", "null"], "maxLength": 200},
    },
    "Score": {
        "description": "probability of the positive class, or a map class -> probability",
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": 1},
            {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}},
            {"type": "null"},
        ],
    },
    "PredictionRecord": _obj(
        {
            "prediction_id": {"type": ["string", "integer"]},
            "timestamp": {**_TIME, "description": "RFC 3339 with an offset"},
            "features": _ref("FeatureValues"),
            "segments": _nullable(_ref("SegmentValues")),
            "prediction": {"type": ["string", "integer", "number"]},
            "score": _ref("Score"),
        },
        ["prediction_id", "timestamp", "features", "prediction"],
    ),
    "ReferenceRecord": _obj(
        {
            "prediction_id": {"type": ["string", "integer"]},
            "timestamp": _TIME,
            "features": _ref("FeatureValues"),
            "segments": _nullable(_ref("SegmentValues")),
            "prediction": {"type": ["string", "integer", "number"]},
            "score": _ref("Score"),
            "label": {"type": ["string", "integer", "number", "null"]},
        },
        ["prediction_id", "timestamp", "features", "prediction"],
    ),
    "GroundTruthRecord": _obj(
        {
            "prediction_id": {"type": ["string", "integer"]},
            "label": {"type": ["string", "integer", "number"]},
            "timestamp": _nullable(_TIME),
        },
        ["prediction_id", "label"],
    ),
    "PredictionBatch": _obj(
        {"records": {"type": "array", "minItems": 1, "maxItems": 10000, "items": _ref("PredictionRecord")}}, ["records"]
    ),
    "ReferenceBatch": _obj(
        {"records": {"type": "array", "minItems": 1, "maxItems": 10000, "items": _ref("ReferenceRecord")}}, ["records"]
    ),
    "GroundTruthBatch": _obj(
        {"records": {"type": "array", "minItems": 1, "maxItems": 10000, "items": _ref("GroundTruthRecord")}},
        ["records"],
    ),
    "PredictionsAccepted": _obj({"accepted": _COUNT, "duplicates": _COUNT}, ["accepted", "duplicates"]),
    "GroundTruthsAccepted": _obj(
        {"accepted": _COUNT, "unmatched": _COUNT, "expired": _COUNT}, ["accepted", "unmatched", "expired"]
    ),
    "ReferenceAccepted": _obj(
        {
            "accepted": _COUNT,
            "duplicates": _COUNT,
            "replaced": {"type": "boolean"},
            "reference_rows": _COUNT,
            "reference_version": {"type": "integer"},
        },
        ["accepted", "duplicates", "replaced", "reference_rows", "reference_version"],
    ),
    "Stats": _obj(
        {
            "model": {"type": "string"},
            "segment": {"type": "string", "description": "the `segment` parameter, when given"},
            "granularity": {"type": "string", "enum": ["hour", "day"]},
            "from": _nullable(_TIME),
            "to": _nullable(_TIME),
            "windows": {
                "type": "array",
                "items": _obj(
                    {
                        "window_start": _TIME,
                        "predictions": _COUNT,
                        "labelled": _COUNT,
                    },
                    ["window_start", "predictions", "labelled"],
                ),
            },
        },
        ["model", "granularity", "from", "to", "windows"],
    ),
    # --- drift, distributions, performance, alerts, settings --------------------------------
    "DriftStatistics": {
        "type": "object",
        "description": "every statistic computed for the column (_ref: reference, _cur: the window); "
        "NaN and infinities are sent as null",
        "properties": {
            name: _NUMBER_OR_NULL
            for name in (
                "n_ref",
                "n_cur",
                "rows_ref",
                "rows_cur",
                "missing_rate_ref",
                "missing_rate_cur",
                "ks_statistic",
                "ks_pvalue",
                "wasserstein",
                "wasserstein_normed",
                "psi",
                "js_distance",
                "mean_ref",
                "mean_cur",
                "std_ref",
                "std_cur",
                "min_ref",
                "max_ref",
                "min_cur",
                "max_cur",
                "chi2_statistic",
                "chi2_pvalue",
                "unseen_share",
                "distribution_qvalue",
                "missing_qvalue",
                "js_distance_chance",
                "psi_chance",
                # multivariate: the window's mean PCA reconstruction error and the reference's band
                "rows",
                "reconstruction_error",
                "reconstruction_error_std",
                "reconstruction_error_ref",
                "lower_threshold",
                "upper_threshold",
                "standard_error",
                "components",
                "explained_variance",
            )
        },
        "additionalProperties": _NUMBER_OR_NULL,
    },
    "DriftColumn": _obj(
        {
            "name": {
                "type": "string",
                "description": "feature name, or 'prediction' / 'score' / 'label' / 'multivariate'",
            },
            "kind": {"type": "string", "enum": ["feature", "prediction", "label", "multivariate"]},
            "type": {"type": "string", "enum": ["numeric", "categorical", "multivariate"]},
            "rows": _COUNT,
            "rows_reference": _COUNT,
            "verdict": {"type": "string", "enum": ["drift", "no_drift", "insufficient_data"]},
            "severity": {"type": ["string", "null"], "enum": ["low", "medium", "high", None]},
            "signals": {
                "type": "array",
                "items": {"type": "string", "enum": ["distribution", "missing_rate", "reconstruction_error"]},
            },
            "driver": {"type": ["string", "null"], "description": "statistic with the largest effect ratio, e.g. psi"},
            "effect_ratio": {
                **_NUMBER_OR_NULL,
                "description": "largest effect / its bar (the threshold, or the value chance alone reaches at the "
                "window's size when higher: statistics.<metric>_chance); >= 1 is a drift-sized effect",
            },
            "statistics": _ref("DriftStatistics"),
        },
        [
            "name",
            "kind",
            "type",
            "rows",
            "rows_reference",
            "verdict",
            "severity",
            "signals",
            "driver",
            "effect_ratio",
            "statistics",
        ],
    ),
    "DriftWindow": _obj(
        {
            "window_start": _TIME,
            "window_end": _TIME,
            "rows": _COUNT,
            "features": {"type": "array", "items": _ref("DriftColumn")},
            "prediction": _nullable(_ref("DriftColumn")),
            "score": {**_nullable(_ref("DriftColumn")), "description": "binary models: the positive-class score"},
            "label": _nullable(_ref("DriftColumn")),
            "multivariate": {
                **_nullable(_ref("DriftColumn")),
                "description": "multivariate drift (PCA data reconstruction of the features): the mean "
                "reconstruction error (statistics.reconstruction_error) against the reference's band "
                "(lower_threshold, upper_threshold); null when the reference has no reconstruction (fewer than "
                "two encoded feature columns)",
            },
            "computed_at": {
                **_nullable(_TIME),
                "description": "when the engine stored it; null when computed for this request from hourly sketches",
            },
        },
        ["window_start", "window_end", "rows", "features", "prediction", "label"],
    ),
    "DriftReport": _obj(
        {
            "model": {"type": "string"},
            "granularity": {"type": "string", "enum": ["hour", "day", "range"]},
            "from": _nullable(_TIME),
            "to": _nullable(_TIME),
            "reference": _nullable(
                _obj(
                    {
                        "version": {"type": ["integer", "null"], "description": "uploaded reference version"},
                        "source": {"type": "string", "enum": ["uploaded", "first_window"]},
                        "rows": _COUNT,
                    },
                    ["version", "source", "rows"],
                )
            ),
            "windows": {"type": "array", "items": _ref("DriftWindow")},
            "next_cursor": _NEXT_CURSOR,
        },
        ["model", "granularity", "from", "to", "reference", "windows", "next_cursor"],
    ),
    "FeatureDistribution": _obj(
        {
            "model": {"type": "string"},
            "feature": {"type": "string"},
            "type": {"type": "string", "enum": ["numeric", "categorical"]},
            "from": _nullable(_TIME),
            "to": _nullable(_TIME),
            "reference": _obj(
                {"rows": _COUNT, "missing": _COUNT, "version": {"type": ["integer", "null"]}}, ["rows", "missing"]
            ),
            "current": _obj({"rows": _COUNT, "missing": _COUNT}, ["rows", "missing"]),
            "bins": {
                "type": "array",
                "description": "numeric: reference-quantile bins; open ends have null bounds",
                "items": _obj(
                    {
                        "lower": _NUMBER_OR_NULL,
                        "upper": _NUMBER_OR_NULL,
                        "reference_share": _SHARE,
                        "current_share": _SHARE,
                    },
                    ["lower", "upper", "reference_share", "current_share"],
                ),
            },
            "categories": {
                "type": "array",
                "description": "categorical: share of each category on each side",
                "items": _obj(
                    {
                        "category": {"type": "string"},
                        "reference_share": _SHARE,
                        "current_share": _SHARE,
                        "unseen": {"type": "boolean"},
                    },
                    ["category", "reference_share", "current_share"],
                ),
            },
        },
        ["model", "feature", "type", "from", "to", "reference", "current"],
    ),
    "DriftCell": _obj(
        {
            "model": {"type": "string"},
            "column": {"type": "string", "description": "feature name, or 'prediction' / 'score' / 'label'"},
            "kind": {"type": "string", "enum": ["feature", "prediction", "label"]},
            "type": {"type": "string", "enum": ["numeric", "categorical"]},
            "granularity": {"type": "string", "enum": ["hour", "day"]},
            "window_start": _TIME,
            "window_end": _TIME,
            "reference": {"type": "object", "description": "rows, missing and version of the reference"},
            "current": {"type": "object", "description": "rows and missing in the window"},
            "bins": {"type": "array", "description": "as FeatureDistribution.bins, over the window"},
            "categories": {"type": "array", "description": "as FeatureDistribution.categories, over the window"},
            "result": {
                **_nullable(_ref("DriftColumn")),
                "description": "the column's statistics and verdict in the window; null before a drift run",
            },
            "incidents": {
                "type": "array",
                "description": "incidents whose windows cover this one, about this column or with it among "
                "their causes (at most 10)",
                "items": _obj(
                    {
                        "id": {"type": "string"},
                        "kind": {"type": "string"},
                        "subject": {"type": "string"},
                        "condition": {"type": "string"},
                        "status": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                        "severity": {"type": "string"},
                        "summary": {"type": "string"},
                        "first_window_start": _TIME,
                        "last_window_end": _TIME,
                        "causes": {"type": "array", "items": _ref("AlertCause")},
                    },
                    ["id", "kind", "subject", "status", "severity", "summary", "causes"],
                ),
            },
        },
        [
            "model",
            "column",
            "kind",
            "type",
            "granularity",
            "window_start",
            "window_end",
            "reference",
            "current",
            "bins",
            "categories",
            "result",
            "incidents",
        ],
    ),
    "PerformanceWindow": _obj(
        {
            "window_start": _TIME,
            "window_end": _TIME,
            "predictions": _COUNT,
            "labelled": _COUNT,
            "label_coverage": _SHARE,
            "provisional": {"type": "boolean", "description": "labels are still expected for this window"},
            "metrics": {
                "type": "object",
                "additionalProperties": _NUMBER_OR_NULL,
                "description": "classification: accuracy, precision, recall, f1, roc_auc, log_loss "
                "(multiclass: accuracy, macro_f1); regression: mae, rmse, r2; null when undefined",
                "properties": {
                    m: _NUMBER_OR_NULL
                    for m in (
                        "accuracy",
                        "precision",
                        "recall",
                        "f1",
                        "roc_auc",
                        "log_loss",
                        "macro_f1",
                        "mae",
                        "rmse",
                        "r2",
                    )
                },
            },
            "estimated": _nullable(
                _obj(
                    {
                        "rows": {**_COUNT, "description": "rows with scores the estimate is made from"},
                        "metrics": {
                            "type": "object",
                            "description": "estimated from the scores calibrated on the reference (CBPE): "
                            "accuracy, precision, recall, f1, roc_auc (multiclass: macro averages); the band "
                            "[lower, upper] is the value ± 3 sampling errors, NannyML's",
                            "additionalProperties": _ref("EstimatedMetric"),
                            "properties": {
                                m: _ref("EstimatedMetric") for m in ("accuracy", "precision", "recall", "f1", "roc_auc")
                            },
                        },
                    },
                    ["rows", "metrics"],
                    description="performance estimated before (and beside) the labels; null when the "
                    "reference has no labelled scores (regression, or nothing to calibrate on)",
                )
            ),
        },
        [
            "window_start",
            "window_end",
            "predictions",
            "labelled",
            "label_coverage",
            "provisional",
            "metrics",
            "estimated",
        ],
    ),
    "EstimatedMetric": _obj(
        {
            "value": _NUMBER_OR_NULL,
            "lower": _NUMBER_OR_NULL,
            "upper": _NUMBER_OR_NULL,
            "sampling_error": _NUMBER_OR_NULL,
        },
        ["value", "lower", "upper", "sampling_error"],
    ),
    "Performance": _obj(
        {
            "model": {"type": "string"},
            "task": {"type": "string"},
            "granularity": {"type": "string", "enum": ["hour", "day", "range"]},
            "from": _nullable(_TIME),
            "to": _nullable(_TIME),
            "windows": {"type": "array", "items": _ref("PerformanceWindow")},
            "next_cursor": _NEXT_CURSOR,
        },
        ["model", "task", "granularity", "from", "to", "windows", "next_cursor"],
    ),
    "AlertCause": _obj(
        {
            "rank": {"type": "integer", "minimum": 1},
            "kind": {"type": "string", "enum": ["feature", "prediction", "label", "segment_field"]},
            "name": {
                "type": "string",
                "description": "the feature (or prediction, score, label, or a declared segment field such as region)",
            },
            "segment": {"type": ["string", "null"], "description": "the rows concerned, e.g. 'x1 in [0.84, 1.28)'"},
            "score": {**_NUMBER_OR_NULL, "description": "contribution used for the ranking"},
            "message": {"type": "string", "description": "the cause in words"},
        },
        ["rank", "kind", "name", "segment", "score", "message"],
    ),
    "Alert": _obj(_ALERT, _ALERT_REQUIRED, description="an incident: one episode of a condition, over windows"),
    "AlertDetail": _obj(
        _ALERT
        | {
            "timeline": {
                "type": "array",
                "items": _ref("AlertWindow"),
                "description": "the evaluated windows of the incident's span, oldest first (at most 1000)",
            },
            "deliveries": {
                "type": "array",
                "items": _ref("Delivery"),
                "description": "each state change on each notification channel: sent, waiting to be retried, or given up",
            },
        },
        [*_ALERT_REQUIRED, "timeline"],
    ),
    "AlertWindow": _obj(
        {
            "window_start": _TIME,
            "window_end": _TIME,
            "state": {
                "type": "string",
                "enum": ["flagged", "clean", "insufficient"],
                "description": "insufficient: too little data to say (neither extends nor resolves the incident)",
            },
            "severity": {"type": ["string", "null"], "enum": ["low", "medium", "high", None]},
            "message": {"type": ["string", "null"], "description": "what the flagged window showed"},
        },
        ["window_start", "window_end", "state", "severity", "message"],
    ),
    "AlertPage": _obj(
        {
            "alerts": {"type": "array", "items": _ref("Alert")},
            "next_cursor": _NEXT_CURSOR,
        },
        ["alerts", "next_cursor"],
    ),
    "Acknowledge": _obj({"note": {"type": "string", "maxLength": 500}}),
    **_DELIVERY_SCHEMAS,
    "ModelSettingsResponse": _obj(
        {"model": {"type": "string"}, "settings": _ref("ModelSettings")}, ["model", "settings"]
    ),
    "TenantSettings": {
        "type": "object",
        "additionalProperties": False,
        "description": "Tenant-wide defaults, used by every model without its own value; keys sent replace the "
        "stored ones, null removes one (back to the built-in default)",
        "properties": {
            "retention_days": _nullable(REGISTRY.setting("retention_days").schema()),
            "notifications": _nullable(REGISTRY.setting("notifications").schema()),
        },
    },
    "TenantSettingsResponse": _obj(
        {
            "settings": {"$ref": "#/components/schemas/TenantSettings"},
            "in_force": _obj(
                {
                    "retention_days": {"type": "integer", "description": "the tenant's default, else 90"},
                    "notifications": {"type": "array", "description": "the tenant's default, else none"},
                },
                ["retention_days", "notifications"],
            ),
        },
        ["settings", "in_force"],
    ),
    "OpenAPIDocument": {"type": "object", "required": ["openapi", "paths"]},
    "KeyInfo": _obj(
        {
            "tenant": {"type": "string"},
            "prefix": {"type": "string", "description": "seia_<prefix>: the key's public part"},
            "scopes": {"type": "array", "items": {"type": "string", "enum": list(scopes.SCOPES)}},
            "expires_at": {**_nullable(_TIME), "description": "null: never expires"},
        },
        ["tenant", "prefix", "scopes", "expires_at"],
    ),
}
# The settings' schemas (ModelSettings, Thresholds, ...) are derived from the registry.
SCHEMAS.update(REGISTRY.openapi_schemas())

_ERROR_TEXT = {
    400: "invalid input; every problem is listed in details",
    401: "missing, unknown, revoked or expired API key",
    403: "the key's scopes do not allow this operation (x-seia-scopes names the ones that do)",
    404: "unknown model (also another tenant's) or resource",
    409: "already exists; or (DELETE of a model) the model is in use by a bulk file loading: retry",
    413: "more than 10,000 records or 6 MB",
    415: "Content-Type is not application/json",
    503: "the database is unreachable",
}


def _errors(*statuses: int) -> dict:
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in statuses}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema_name)}}}


def _param(name: str, where: str, schema: dict, description: str = "", required: bool = False) -> dict:
    param = {"name": name, "in": where, "required": required or where == "path", "schema": schema}
    if description:
        param["description"] = description
    return param


_MODEL = _param("model", "path", {"type": "string"}, "the model's name")
_SEGMENT = _param(
    "segment",
    "query",
    {"type": "string", "pattern": "^[^:]+:.+$"},
    "one segment value, <field>:<value> (region:eu), or <field>:other for the values not followed: the results "
    "of that segment's traffic only (docs/segments.md). 400 when the field is not declared or the value is not "
    "followed (GET /v1/models/{model} lists segment_values); a followed value without results yet: an empty list",
)
_FROM = _param("from", "query", _TIME, "start (inclusive), RFC 3339 with an offset")
_TO = _param("to", "query", _TIME, "end (exclusive), RFC 3339 with an offset")
# The windows of /drift and /performance: the latest page unless `from` is given.
_WINDOW_FROM = _param(
    "from",
    "query",
    _TIME,
    "start (inclusive), RFC 3339 with an offset. Without it the route returns the LATEST windows (before `to` "
    "when given): the newest page, oldest first within it, with next_cursor leading to the page before; with it, "
    "pages run forward from `from`. granularity=range (and a distribution) covers at most 366 days: a longer "
    "explicit range is a 400 naming `to`; a missing `from` is the data's start, at most 366 days before `to`",
)
_LIMIT = _param(
    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "windows (or alerts) per page"
)
_CURSOR = _param(
    "cursor",
    "query",
    {"type": "string"},
    "next_cursor of the previous page (windows: a time, the page after it, or `before:<time>`, the page before it)",
)
_WINDOWS = _param(
    "granularity",
    "query",
    {"type": "string", "enum": ["hour", "day", "range"]},
    "UTC windows, stored by the engine at hour and day granularity; range: one window over [from, to), a missing "
    "bound being the extent of the data (at most 366 days), merged from daily rollups and the edge hours. "
    "Default: the model's evaluation window (settings.window)",
)


def _granularity(values: list[str]) -> dict:
    return _param(
        "granularity",
        "query",
        {"type": "string", "enum": values, "default": values[0]},
        "UTC windows (range: one window over [from, to))",
    )


def _op(
    summary: str,
    responses: dict,
    *,
    tag: str,
    params=(),
    body: str | None = None,
    auth=True,
    planned=False,
    body_required=True,
    operation_id: str,
    scope=None,
) -> dict:
    op = {
        "summary": summary,
        "operationId": operation_id,
        "tags": [tag],
        "parameters": list(params),
        "responses": responses,
    }
    if body:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": _ref(body)}}}
    if not auth:
        op["security"] = []
    if scope is not None:
        op["x-seia-scopes-declared"] = sorted(scope)  # the route's own, where it differs from seia.scopes' rule
    if planned:
        op["x-seia-status"] = PLANNED
    return op


PATHS: dict = {
    "/health": {
        "get": _op(
            "Liveness of the ingest function",
            {"200": _json("Health", "the function answers")},
            tag="meta",
            auth=False,
            operation_id="health",
        )
    },
    "/v1/openapi.json": {
        "get": {
            **_op(
                "This document",
                {"200": _json("OpenAPIDocument", "the OpenAPI 3 document")},
                tag="meta",
                auth=False,
                operation_id="openapi",
            )
        }
    },
    "/v1/models": {
        "post": _op(
            "Register a model",
            {"201": _json("Model", "created"), **_errors(400, 401, 409, 413, 415, 503)},
            tag="models",
            body="ModelDefinition",
            operation_id="create_model",
        ),
        "get": _op(
            "The tenant's models",
            {"200": _json("ModelList", "every model"), **_errors(401, 503)},
            tag="models",
            operation_id="list_models",
        ),
    },
    "/v1/models/{model}": {
        "get": _op(
            "One model",
            {"200": _json("Model", "the model"), **_errors(401, 404, 503)},
            tag="models",
            params=[_MODEL],
            operation_id="get_model",
            scope={scopes.READ, scopes.INGEST},
        ),
        "patch": _op(
            "Change a model: add features or labels, remove features, change settings (never rename or retype)",
            {"200": _json("Model", "the model as it is now"), **_errors(400, 401, 404, 415, 503)},
            tag="models",
            params=[_MODEL],
            body="ModelPatch",
            operation_id="patch_model",
        ),
        "delete": _op(
            "Delete a model with its rows, drift results, incidents and file records; its name is free again",
            {
                "202": _json("ModelDeleted", "deleted; a drift run under way for it stops"),
                **_errors(401, 404, 409, 503),
            },
            tag="models",
            params=[_MODEL],
            operation_id="delete_model",
        ),
    },
    "/v1/key": {
        "get": _op(
            "The calling key: its tenant, scopes and expiry (any valid key may ask)",
            {"200": _json("KeyInfo", "the key"), **_errors(401, 503)},
            tag="meta",
            operation_id="who_am_i",
            scope=scopes.ANY,
        ),
    },
    "/v1/models/{model}/predictions": {
        "post": _op(
            "Log predictions (up to 10,000 records, 6 MB)",
            {
                "202": _json("PredictionsAccepted", "stored; a prediction_id already stored counts as a duplicate"),
                **_errors(400, 401, 404, 413, 415, 503),
            },
            tag="ingest",
            params=[_MODEL],
            body="PredictionBatch",
            operation_id="log_predictions",
        ),
    },
    "/v1/models/{model}/ground-truths": {
        "post": _op(
            "Log ground truths; they join their prediction whenever it exists",
            {"202": _json("GroundTruthsAccepted", "stored"), **_errors(400, 401, 404, 413, 415, 503)},
            tag="ingest",
            params=[_MODEL],
            body="GroundTruthBatch",
            operation_id="log_ground_truths",
        ),
    },
    "/v1/models/{model}/reference": {
        "post": _op(
            "Add rows to the reference (baseline) set",
            {"202": _json("ReferenceAccepted", "stored"), **_errors(400, 401, 404, 413, 415, 503)},
            tag="ingest",
            body="ReferenceBatch",
            operation_id="log_reference",
            params=[
                _MODEL,
                _param("replace", "query", {"type": "boolean", "default": False}, "remove the old reference first"),
            ],
        ),
    },
    "/v1/models/{model}/stats": {
        "get": _op(
            "Predictions received and labelled per UTC window",
            {"200": _json("Stats", "windows holding predictions"), **_errors(400, 401, 404, 503)},
            tag="query",
            params=[
                _MODEL,
                _param("from", "query", _TIME, "start (inclusive); without it, the latest 10,000 windows"),
                _TO,
                _granularity(["hour", "day"]),
                _SEGMENT,
            ],
            operation_id="stats",
        ),
    },
    # --- drift results, performance, alerts, settings -----------------------------------------
    "/v1/models/{model}/drift": {
        "get": _op(
            "Drift per window and column: statistics, verdict, rows; prediction and label drift",
            {
                "200": _json("DriftReport", "windows with drift results (empty before the first drift run)"),
                **_errors(400, 401, 404, 503),
            },
            tag="drift",
            operation_id="drift",
            params=[_MODEL, _WINDOW_FROM, _TO, _WINDOWS, _LIMIT, _CURSOR, _SEGMENT],
        ),
    },
    "/v1/models/{model}/drift/{feature}": {
        "get": _op(
            "One cell of the drift heat map: a column in one window, its reference and current distributions, "
            "statistics, verdict and the incidents (with causes) that cover it",
            {"200": _json("DriftCell", "the cell"), **_errors(400, 401, 404, 503)},
            tag="drift",
            operation_id="drift_cell",
            params=[
                _MODEL,
                _param(
                    "feature",
                    "path",
                    {"type": "string"},
                    "a feature's name, or __score__, __prediction__ or __label__ for the model's own columns",
                ),
                _param("window_start", "query", _TIME, "the window's start (required), RFC 3339 with an offset"),
                _granularity(["hour", "day"]),
                _SEGMENT,
            ],
        ),
    },
    "/v1/models/{model}/features/{feature}/distribution": {
        "get": _op(
            "Reference and current distribution of one feature",
            {
                "200": _json("FeatureDistribution", "histograms (numeric) or category shares (categorical)"),
                **_errors(400, 401, 404, 503),
            },
            tag="drift",
            operation_id="feature_distribution",
            params=[
                _MODEL,
                _param("feature", "path", {"type": "string"}),
                _param("from", "query", _TIME, "start (inclusive); at most 366 days before `to` (else a 400)"),
                _TO,
            ],
        ),
    },
    "/v1/models/{model}/performance": {
        "get": _op(
            "Realized performance per window, with label coverage, and the performance estimated from the scores",
            {"200": _json("Performance", "metrics per window"), **_errors(400, 401, 404, 503)},
            tag="drift",
            operation_id="performance",
            params=[_MODEL, _WINDOW_FROM, _TO, _WINDOWS, _LIMIT, _CURSOR, _SEGMENT],
        ),
    },
    "/v1/models/{model}/alerts": {
        "get": _op(
            "Incidents, open (and acknowledged) first, then the most recent, a page at a time",
            {"200": _json("AlertPage", "a page of incidents"), **_errors(400, 401, 404, 503)},
            tag="alerts",
            operation_id="alerts",
            params=[
                _MODEL,
                _param(
                    "status",
                    "query",
                    {"type": "string", "enum": ["open", "acknowledged", "resolved", "all"], "default": "open"},
                ),
                _param("from", "query", _TIME, "incidents whose windows end after this time"),
                _param("to", "query", _TIME, "incidents whose windows start before this time"),
                _LIMIT,
                _CURSOR,
                _param(
                    "segment",
                    "query",
                    {"type": "string", "pattern": "^[^:]+:.+$"},
                    "only the incidents raised in this segment value (region:eu); without it, the model-wide ones "
                    "and every segment's",
                ),
            ],
        ),
    },
    "/v1/models/{model}/alerts/{alert_id}": {
        "get": _op(
            "One incident with its per-window timeline and ranked causes",
            {"200": _json("AlertDetail", "the incident"), **_errors(401, 404, 503)},
            tag="alerts",
            operation_id="get_alert",
            params=[_MODEL, _param("alert_id", "path", {"type": "string"})],
        ),
    },
    "/v1/models/{model}/alerts/{alert_id}/acknowledge": {
        "post": _op(
            "Acknowledge an incident (idempotent; it stays acknowledged until resolved)",
            {
                "200": _json("AlertDetail", "the incident, acknowledged"),
                **_errors(400, 401, 404, 409, 415, 503),
            },
            tag="alerts",
            operation_id="acknowledge_alert",
            body="Acknowledge",
            body_required=False,
            params=[_MODEL, _param("alert_id", "path", {"type": "string"})],
        ),
    },
    "/v1/models/{model}/alerts/{alert_id}/resolve": {
        "post": _op(
            "Resolve an incident by hand (if its condition returns, a new incident opens)",
            {"200": _json("AlertDetail", "the incident, resolved"), **_errors(400, 401, 404, 409, 415, 503)},
            tag="alerts",
            operation_id="resolve_alert",
            params=[_MODEL, _param("alert_id", "path", {"type": "string"})],
        ),
    },
    "/v1/models/{model}/settings": {
        "put": _op(
            "Window granularity, drift thresholds, webhook URL and reference policy (keys sent are replaced)",
            {"200": _json("ModelSettingsResponse", "the settings now in force"), **_errors(400, 401, 404, 415, 503)},
            tag="models",
            operation_id="put_settings",
            body="ModelSettings",
            params=[_MODEL],
        ),
    },
    "/v1/settings": {
        "get": _op(
            "The tenant's defaults of model settings (retention_days, notifications) and what is in force",
            {"200": _json("TenantSettingsResponse", "the stored defaults and those in force"), **_errors(401, 503)},
            tag="models",
            operation_id="get_tenant_settings",
        ),
        "put": _op(
            "Set the tenant's defaults (a model's own setting wins; keys sent are replaced, null removes one)",
            {
                "200": _json("TenantSettingsResponse", "the defaults now stored and in force"),
                **_errors(400, 401, 415, 503),
            },
            tag="models",
            operation_id="put_tenant_settings",
            body="TenantSettings",
        ),
    },
    # --- the dashboard (HTML; no key in the URL, the page asks for it) ---------------------------
    "/dashboard": {
        "get": _op(
            "The dashboard page",
            {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
            tag="dashboard",
            auth=False,
            operation_id="dashboard",
        )
    },
    "/dashboard/{file}": {
        "get": _op(
            "The dashboard's static assets",
            {
                "200": {
                    "description": "the asset",
                    "content": {
                        "application/javascript": {"schema": {"type": "string"}},
                        "text/css": {"schema": {"type": "string"}},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "404": {"$ref": "#/components/responses/E404"},
            },
            tag="dashboard",
            auth=False,
            operation_id="dashboard_asset",
            params=[_param("file", "path", {"type": "string"})],
        )
    },
}


def _with_scopes(paths: dict) -> dict:
    """Each authenticated operation names the scopes that may call it (as the apps enforce it) and its 403."""
    for path, ops in paths.items():
        for method, op in ops.items():
            declared = op.pop("x-seia-scopes-declared", None)
            if op.get("security") == []:
                continue
            needs = scopes.required(method.upper(), path, declared)
            op["x-seia-scopes"] = [s for s in scopes.SCOPES if s in needs]
            text = f"Needs a key with scope {' or '.join(op['x-seia-scopes'])}" + (
                "." if scopes.ADMIN in needs else " (or admin)."
            )
            op["description"] = f"{op['description']} {text}" if op.get("description") else text
            op["responses"].setdefault("403", {"$ref": "#/components/responses/E403"})
    return paths


_with_scopes(PATHS)

DOCUMENT: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "Seia",
        "version": "0.1.0",
        "description": "ML model monitoring. JSON in and out; `Authorization: Bearer <api key>` on every "
        "route but /health, /v1/openapi.json and the dashboard. Operations marked "
        "`x-seia-status: planned` are designed but not served yet.",
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    },
    "servers": [{"url": "/"}],
    "security": [{"apiKey": []}],
    "tags": [{"name": t} for t in ("meta", "models", "ingest", "query", "drift", "alerts", "dashboard")],
    "paths": PATHS,
    "webhooks": WEBHOOKS,
    "components": {
        "securitySchemes": {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "seia_<prefix>_<secret>, from `seia tenant create` (scope admin) or "
                "`seia key create TENANT --scope ingest|read|admin [--expires 90d]`. A key holds one or more "
                "scopes: ingest writes predictions, ground truths and reference rows (and reads a model's "
                "definition); read reads; admin does everything (models, settings, alerts). Each operation's "
                "x-seia-scopes lists the scopes that may call it; any other key gets 403 (code forbidden). "
                "An expired key gets 401. GET /v1/key tells a key what it holds.",
            }
        },
        "schemas": SCHEMAS,
        "responses": {f"E{s}": _json("Error", text) for s, text in _ERROR_TEXT.items()},
    },
}


def document(include_planned: bool = True) -> dict:
    """A copy of the document; without the planned operations when ``include_planned`` is false."""
    doc = copy.deepcopy(DOCUMENT)
    doc["components"]["schemas"].update(REGISTRY.openapi_schemas())  # metrics registered since import
    if not include_planned:
        for path in list(doc["paths"]):
            ops = {m: op for m, op in doc["paths"][path].items() if op.get("x-seia-status") != PLANNED}
            if ops:
                doc["paths"][path] = ops
            else:
                del doc["paths"][path]
    return doc


def operations(include_planned: bool = True) -> set[tuple[str, str]]:
    """(path, METHOD) of every operation in the document."""
    return {(path, method.upper()) for path, ops in document(include_planned)["paths"].items() for method in ops}
