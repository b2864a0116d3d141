"""A model's drift settings as ``PUT /v1/models/{model}/settings`` takes them.

Stored in ``models.settings`` under exactly the keys the drift engine reads
(``seia_drift.settings.DriftSettings.from_model``); the rules here are the engine's, checked at the
edge so that a bad value is a 400 naming its field instead of a failed drift run.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from seia.errors import Detail, ValidationFailed

WINDOWS = ("hour", "day")
POLICIES = ("uploaded_or_first_window", "uploaded")
THRESHOLD_DEFAULTS = {
    "wasserstein_normed": 0.1,
    "js_distance": 0.1,
    "psi": 0.2,
    "unseen_share": 0.05,
    "missing_rate_increase": 0.05,
    "alpha": 0.05,
    "medium_factor": 2.0,
    "high_factor": 4.0,
}
KEYS = (
    "window",
    "min_rows",
    "thresholds",
    "coverage_threshold",
    "performance_drop",
    "reference_policy",
    "reference_min_rows",
    "webhook_url",
)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_thresholds(raw, problems: list[Detail]) -> None:
    if not isinstance(raw, dict):
        problems.append(Detail(None, "thresholds", "must be an object"))
        return
    for key in sorted(set(raw) - set(THRESHOLD_DEFAULTS)):
        problems.append(
            Detail(None, f"thresholds.{str(key)[:64]}", f"unknown threshold; use {', '.join(THRESHOLD_DEFAULTS)}")
        )
    for key in THRESHOLD_DEFAULTS:
        if key not in raw:
            continue
        value, field = raw[key], f"thresholds.{key}"
        if not _number(value) or value <= 0:
            problems.append(Detail(None, field, "must be a positive number"))
        elif key in ("js_distance", "unseen_share", "missing_rate_increase") and value > 1:
            problems.append(Detail(None, field, "must be at most 1"))
        elif key == "alpha" and value >= 1:
            problems.append(Detail(None, field, "must be below 1"))
    medium = raw.get("medium_factor", THRESHOLD_DEFAULTS["medium_factor"])
    high = raw.get("high_factor", THRESHOLD_DEFAULTS["high_factor"])
    if _number(medium) and _number(high) and not 1 < medium < high:
        problems.append(Detail(None, "thresholds.medium_factor", "need 1 < medium_factor < high_factor"))


def _check(key: str, value, problems: list[Detail]) -> None:
    if key == "window" and value not in WINDOWS:
        problems.append(Detail(None, key, "must be 'hour' or 'day'"))
    elif key in ("min_rows", "reference_min_rows") and (not _integer(value) or not 1 <= value <= 10**9):
        problems.append(Detail(None, key, "must be an integer >= 1"))
    elif key == "thresholds":
        _check_thresholds(value, problems)
    elif key == "coverage_threshold" and (not _number(value) or not 0 <= value <= 1):
        problems.append(Detail(None, key, "must be a number in [0, 1]"))
    elif key == "performance_drop":
        if not isinstance(value, dict):
            problems.append(Detail(None, key, "must be an object {accuracy, rmse}"))
            return
        for sub in sorted(set(value) - {"accuracy", "rmse"}):
            problems.append(Detail(None, f"performance_drop.{str(sub)[:64]}", "unknown; use accuracy or rmse"))
        if "accuracy" in value and (not _number(value["accuracy"]) or not 0 < value["accuracy"] <= 1):
            problems.append(Detail(None, "performance_drop.accuracy", "must be a number in (0, 1]"))
        if "rmse" in value and (not _number(value["rmse"]) or value["rmse"] <= 0):
            problems.append(Detail(None, "performance_drop.rmse", "must be a positive number"))
    elif key == "reference_policy" and value not in POLICIES:
        problems.append(Detail(None, key, f"must be one of {', '.join(POLICIES)}"))
    elif key == "webhook_url":
        parts = urlsplit(value) if isinstance(value, str) and len(value) <= 2000 else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(Detail(None, key, "must be an http(s) URL of at most 2000 characters, or null"))


def updated(current: dict, body) -> dict:
    """The settings after applying `body`: each key sent replaces the stored one, null removes it."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", [Detail(None, None, "expected an object")])
    problems = [
        Detail(None, str(k)[:64], f"unknown setting; use {', '.join(KEYS)}")
        for k in sorted(map(str, body))
        if k not in KEYS
    ]
    for key in KEYS:
        if key in body and body[key] is not None:
            _check(key, body[key], problems)
    if problems:
        raise ValidationFailed("invalid settings", problems)
    out = dict(current or {})
    for key, value in body.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
