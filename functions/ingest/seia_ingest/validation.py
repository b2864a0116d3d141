"""Checking what users send, before anything is written.

Every bad record of a batch is reported (``index``, ``field``, ``message``), and a batch with any
bad record is rejected whole. Valid records become typed row tuples ready for ``COPY``.

A batch is checked in two passes: :func:`envelope` (shape, fields, ids, timestamps) needs no model and
runs before any database connection is taken, so a bad batch costs no connection and is answered 400
even while the database is down; :class:`RecordValidator` then checks features, labels and scores
against the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from seia import model_settings, naming, segment_fields
from seia.errors import Detail, ValidationFailed
from seia.schema import (
    FEATURE_TYPES,
    MAX_CATEGORY_LENGTH,
    MAX_ID_LENGTH,
    RESERVED,
    RESERVED_PREFIX,
    SCORE_COLUMN_PREFIX,
    TASKS,
    Feature,
    Model,
)
from seia.timeutil import parse_rfc3339

MAX_FEATURES = 500
MAX_LABELS = 1000
MAX_ERRORS = 100  # listed in one response; the count says how many there were in all


# --- model definitions -----------------------------------------------------------------------
def model_definition(body: Any) -> dict:
    """Validate a ``POST /v1/models`` body; return the normalised definition."""
    errors: list[Detail] = []
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", [Detail(None, None, "expected an object")])
    for key in body:
        if key not in ("name", "task", "features", "labels", "segments", "settings"):
            errors.append(Detail(None, str(key)[:64], "unknown field"))
    name = body.get("name")
    if not naming.is_model_name(name):
        errors.append(Detail(None, "name", "must match ^[a-z0-9][a-z0-9_-]{0,63}$"))
    task = body.get("task")
    if task not in TASKS:
        errors.append(Detail(None, "task", f"must be one of {', '.join(TASKS)}"))
    features = body.get("features")
    parsed: list[Feature] = []
    if not isinstance(features, list) or not features:
        errors.append(Detail(None, "features", "must be a non-empty list of {name, type}"))
    elif len(features) > MAX_FEATURES:
        errors.append(Detail(None, "features", f"at most {MAX_FEATURES} features"))
    else:
        seen = set()
        for i, feature in enumerate(features):
            where = f"features[{i}]"
            if not isinstance(feature, dict) or set(feature) - {"name", "type"}:
                errors.append(Detail(None, where, "must be an object with name and type only"))
                continue
            fname, ftype = feature.get("name"), feature.get("type")
            if not isinstance(fname, str) or not naming.FEATURE_NAME.fullmatch(fname):
                errors.append(Detail(None, f"{where}.name", "must match ^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"))
            elif fname in RESERVED or fname.startswith(RESERVED_PREFIX):
                errors.append(
                    Detail(None, f"{where}.name", f"{fname!r} is reserved (as is every name starting with __)")
                )
            elif fname in seen:
                errors.append(Detail(None, f"{where}.name", f"duplicate feature {fname!r}"))
            if ftype not in FEATURE_TYPES:
                errors.append(Detail(None, f"{where}.type", "must be 'numeric' or 'categorical'"))
            if isinstance(fname, str):  # a list or an object as a name is reported above; it is not hashable
                seen.add(fname)
            # Not a string when an error was recorded above: the definition is then refused and parsed dropped.
            parsed.append(Feature(cast(str, fname), cast(str, ftype)))
    labels = body.get("labels")
    label_texts = None
    if task in ("binary_classification", "multiclass_classification"):
        if not isinstance(labels, list) or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in labels):
            errors.append(Detail(None, "labels", "classification needs a list of labels (strings or integers)"))
        else:
            label_texts = [str(v) for v in labels]
            if any(not t or len(t) > MAX_CATEGORY_LENGTH or "\x00" in t for t in label_texts):
                errors.append(Detail(None, "labels", f"labels must be 1 to {MAX_CATEGORY_LENGTH} characters, no NUL"))
            elif len(set(label_texts)) != len(label_texts):
                errors.append(Detail(None, "labels", "labels must be distinct"))
            elif task == "binary_classification" and len(label_texts) != 2:
                errors.append(
                    Detail(None, "labels", "binary classification needs exactly 2 labels [negative, positive]")
                )
            elif not 2 <= len(label_texts) <= MAX_LABELS:
                errors.append(Detail(None, "labels", f"multiclass classification needs 2 to {MAX_LABELS} labels"))
    elif task == "regression" and labels is not None:
        errors.append(Detail(None, "labels", "regression models have no labels"))
    if label_texts:
        # Files give a class's probability in the column score_<label>: a feature may not take that name.
        score_columns = {SCORE_COLUMN_PREFIX + t for t in label_texts}
        for i, feature in enumerate(parsed):
            if isinstance(feature.name, str) and feature.name in score_columns:
                errors.append(
                    Detail(None, f"features[{i}].name", f"{feature.name!r} is the file column of a class's score")
                )
    segments: list[str] = []
    if body.get("segments") is not None:
        names = [f.name for f in parsed if isinstance(f.name, str)]
        segments, problems = segment_fields.problems(body["segments"], names, label_texts)
        errors += problems
    settings = body.get("settings", {})
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        errors.append(Detail(None, "settings", "must be an object"))
    elif "\\u0000" in json.dumps(settings):
        errors.append(Detail(None, "settings", "must not contain NUL characters"))
    else:
        # The same rules as PUT /v1/models/{model}/settings, so no model is created that the engine cannot run.
        try:
            settings = model_settings.updated({}, settings)
        except ValidationFailed as exc:
            errors += [Detail(None, f"settings.{d.field}" if d.field else "settings", d.message) for d in exc.details]
    if errors:
        raise ValidationFailed("invalid model definition", errors)
    return {
        "name": name,
        "task": task,
        "features": parsed,
        "labels": label_texts,
        "segments": segments,
        "settings": settings,
    }


# --- records ----------------------------------------------------------------------------------
_MISSING = object()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


PREDICTION_FIELDS = frozenset({"prediction_id", "timestamp", "features", "segments", "prediction", "score"})
REFERENCE_FIELDS = PREDICTION_FIELDS | {"label"}
GROUND_TRUTH_FIELDS = frozenset({"prediction_id", "label", "timestamp"})


@dataclass(frozen=True)
class Batch:
    """A batch's records with what its envelope said: each record's id and timestamp, or its errors."""

    records: list
    ids: list[str]
    timestamps: list[datetime | None]
    errors: list[Detail]
    bad: frozenset[int]

    def raise_if_invalid(self) -> None:
        _raise_if(self.errors, len(self.records))

    def finish(self, errors: list[Detail]) -> None:
        """Raise with the envelope's errors and the model's, in record order, if there are any."""
        merged = sorted(self.errors + errors, key=lambda d: -1 if d.index is None else d.index)
        _raise_if(merged, len(self.records))


def envelope(records: Any, fields: frozenset[str], timestamp_required: bool = True) -> Batch:
    """What can be checked without the model: a list of objects with known fields, unique ids, timestamps.

    A list that is not one, empty or too long raises at once; the records' problems are kept in the batch
    (``raise_if_invalid``), so that the model's checks can add theirs to one answer.
    """
    records = _records_list(records)
    errors: list[Detail] = []
    ids: list[str] = []
    timestamps: list[datetime | None] = []
    seen: dict[str, int] = {}
    bad: set[int] = set()
    for i, rec in enumerate(records):
        n_before = len(errors)
        if not isinstance(rec, dict):
            errors.append(Detail(i, None, "must be an object"))
            ids.append("")
            timestamps.append(None)
            bad.add(i)
            continue
        for key in rec:
            if key not in fields:
                errors.append(Detail(i, str(key)[:64], "unknown field"))
        pid, err = _prediction_id(rec.get("prediction_id"))
        if err:
            errors.append(Detail(i, "prediction_id", err))
        elif pid in seen:
            errors.append(Detail(i, "prediction_id", f"duplicate of record {seen[pid]} in this batch"))
        else:
            seen[pid] = i
        ts = None
        if timestamp_required or rec.get("timestamp") is not None:
            try:
                ts = parse_rfc3339(rec.get("timestamp"))
            except ValueError as exc:
                errors.append(Detail(i, "timestamp", str(exc)))
        ids.append(cast(str, pid))
        timestamps.append(ts)
        if len(errors) != n_before:
            bad.add(i)
    return Batch(records, ids, timestamps, errors, frozenset(bad))


def _prediction_id(value: Any):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None, "must be a string"
    text = str(value)
    if not text or len(text) > MAX_ID_LENGTH or "\x00" in text:
        return None, f"must be 1 to {MAX_ID_LENGTH} characters, no NUL character"
    return text, None


class RecordValidator:
    """Turns records of one model into row tuples, collecting every problem.

    Prediction rows: (prediction_id, ts, num, cat, prediction_label, prediction_value, score, scores)
    Reference rows add (label, label_value). A model with segment fields adds ``seg`` last (its values in slot
    order of ``model.segments``, None where the record left one out). Ground-truth rows: (prediction_id, label,
    label_value, ts).
    The batch's envelope (:func:`envelope`) has been checked already.
    """

    def __init__(self, model: Model):
        self.model = model
        # A removed feature keeps its slot (None: stored empty, whatever the record sends, so producers can be
        # updated after the PATCH); a feature added by PATCH may be left out of a record (missing).
        removed = {f.name for f in model.features if f.removed}
        self.numeric = tuple(None if n in removed else n for n in model.numeric)
        self.categorical = tuple(None if n in removed else n for n in model.categorical)
        self.optional = frozenset(f.name for f in model.features if f.added_at)
        self.feature_names = frozenset(model.numeric + model.categorical)
        self.labels = frozenset(model.labels or ())
        self.segments = model.segments
        self.segment_names = frozenset(model.segments)

    # each check returns (value, error message or None)
    def _label(self, value: Any, field: str):
        """A classification label as text, or a regression target as float."""
        if self.model.is_classification:
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                return None, f"{field} must be one of the model's labels"
            text = str(value)
            if text not in self.labels:
                return None, f"{field} {text[:50]!r} is not one of the model's labels"
            return text, None
        if not _is_number(value):
            return None, f"{field} must be a finite number"
        return float(value), None

    def _score(self, value: Any):
        """(score, scores) from a probability or a map class → probability."""
        model = self.model
        if not model.is_classification:
            return None, None, "regression models take no score"
        if isinstance(value, dict):
            scores = []
            for label in model.labels or ():
                p = value.get(label)
                if p is None:
                    return None, None, f"score map lacks class {label!r}"
                if not _is_number(p) or not 0.0 <= p <= 1.0:
                    return None, None, f"score for class {label!r} must be a probability in [0, 1]"
                scores.append(float(p))
            if set(value) - set(model.labels or ()):
                return None, None, "score map has classes the model does not have"
            score = scores[1] if model.task == "binary_classification" else None
            return score, scores, None
        if model.task != "binary_classification":
            return None, None, "multiclass score must be a map class -> probability"
        if not _is_number(value) or not 0.0 <= value <= 1.0:
            return None, None, "must be a probability in [0, 1] (of the positive class)"
        return float(value), None, None

    def _features(self, value: Any, index: int, errors: list[Detail]):
        # The hot loop of every batch: plain type checks, no per-value function calls when valid.
        if not isinstance(value, dict):
            errors.append(Detail(index, "features", "must be an object of feature name -> value"))
            return None, None
        n_errors = len(errors)
        if len(value) != len(self.feature_names) or not self.feature_names.issuperset(value):
            for key in value:
                if key not in self.feature_names:
                    errors.append(Detail(index, f"features.{str(key)[:64]}", "unknown feature"))
        num: list[float | None] = []
        for name in self.numeric:
            if name is None:
                num.append(None)
                continue
            v = value.get(name, _MISSING)
            t = type(v)
            if t is float:
                if v - v != 0.0:  # inf or nan (1e999 parses to inf)
                    errors.append(Detail(index, f"features.{name}", "must be a finite number or null"))
                num.append(v)
            elif t is int:
                try:
                    num.append(float(v))
                except OverflowError:
                    errors.append(Detail(index, f"features.{name}", "must be a finite number or null"))
            elif v is None:
                num.append(None)
            elif v is _MISSING:
                if name in self.optional:
                    num.append(None)
                else:
                    errors.append(Detail(index, f"features.{name}", "missing feature (send null for a missing value)"))
            else:
                errors.append(Detail(index, f"features.{name}", "must be a finite number or null"))
        cat: list[str | None] = []
        for name in self.categorical:
            if name is None:
                cat.append(None)
                continue
            v = value.get(name, _MISSING)
            t = type(v)
            if t is str:
                if len(v) > MAX_CATEGORY_LENGTH or "\x00" in v:
                    errors.append(
                        Detail(index, f"features.{name}", f"at most {MAX_CATEGORY_LENGTH} characters, no NUL character")
                    )
                cat.append(v)
            elif v is None:
                cat.append(None)
            elif t is bool:
                cat.append("true" if v else "false")
            elif t is int:
                cat.append(str(v))
            elif v is _MISSING:
                if name in self.optional:
                    cat.append(None)
                else:
                    errors.append(Detail(index, f"features.{name}", "missing feature (send null for a missing value)"))
            else:
                errors.append(Detail(index, f"features.{name}", "must be a string, an integer or null"))
        return (num, cat) if len(errors) == n_errors else (None, None)

    def _segments(self, value: Any, index: int, errors: list[Detail]):
        """The record's segment values in slot order (None: left out or null), or None with its errors."""
        if value is None:
            return [None] * len(self.segments)
        if not isinstance(value, dict):
            errors.append(Detail(index, "segments", "must be an object of segment field -> value"))
            return None
        n_errors = len(errors)
        if not self.segment_names.issuperset(value):
            declared = ", ".join(self.segments)
            for key in value:
                if key not in self.segment_names:
                    errors.append(
                        Detail(index, f"segments.{str(key)[:64]}", f"unknown segment field (the model has {declared})")
                    )
        seg: list[str | None] = []
        for name in self.segments:
            v = value.get(name)
            if v is None or type(v) is str and len(v) <= MAX_CATEGORY_LENGTH and "\x00" not in v:
                seg.append(v)
            elif type(v) is str:
                errors.append(
                    Detail(index, f"segments.{name}", f"at most {MAX_CATEGORY_LENGTH} characters, no NUL character")
                )
            else:
                errors.append(Detail(index, f"segments.{name}", "must be a string or null"))
        return seg if len(errors) == n_errors else None

    def predictions(self, batch: Batch, with_label: bool = False) -> list[tuple]:
        errors: list[Detail] = []
        rows = []
        classification = self.model.is_classification
        segments = bool(self.segments)
        for i, rec in enumerate(batch.records):
            if not isinstance(rec, dict):
                continue
            n_before = len(errors)
            num, cat = self._features(rec.get("features"), i, errors)
            if segments:
                seg = self._segments(rec.get("segments"), i, errors)
            elif rec.get("segments") not in (None, {}):  # {} and null say nothing
                errors.append(
                    Detail(
                        i,
                        "segments",
                        f"model {self.model.name!r} declares no segment fields (PATCH /v1/models/{{model}} adds them)",
                    )
                )
            if "prediction" not in rec:
                errors.append(Detail(i, "prediction", "missing"))
                prediction = None
            else:
                prediction, err = self._label(rec["prediction"], "prediction")
                if err:
                    errors.append(Detail(i, "prediction", err))
            score = scores = None
            if rec.get("score") is not None:
                score, scores, err = self._score(rec["score"])
                if err:
                    errors.append(Detail(i, "score", err))
            label = None
            if with_label and rec.get("label") is not None:
                label, err = self._label(rec["label"], "label")
                if err:
                    errors.append(Detail(i, "label", err))
            if len(errors) != n_before or i in batch.bad:
                continue
            p_label, p_value = (prediction, None) if classification else (None, prediction)
            row: tuple[Any, ...] = (batch.ids[i], batch.timestamps[i], num, cat, p_label, p_value, score, scores)
            if with_label:
                l_label, l_value = (label, None) if classification else (None, label)
                row = row + (l_label, l_value)
            if segments:
                row = row + (seg,)
            rows.append(row)
        batch.finish(errors)
        return rows

    def ground_truths(self, batch: Batch) -> list[tuple]:
        errors: list[Detail] = []
        rows = []
        classification = self.model.is_classification
        for i, rec in enumerate(batch.records):
            if not isinstance(rec, dict):
                continue
            if "label" not in rec:
                errors.append(Detail(i, "label", "missing"))
                continue
            label, err = self._label(rec["label"], "label")
            if err:
                errors.append(Detail(i, "label", err))
                continue
            pid, ts = batch.ids[i], batch.timestamps[i]
            rows.append((pid, label, None, ts) if classification else (pid, None, label, ts))
        batch.finish(errors)
        return rows


def _records_list(records: Any) -> list:
    from seia.config import MAX_RECORDS
    from seia.errors import PayloadTooLarge

    if not isinstance(records, list):
        raise ValidationFailed("records must be a list", [Detail(None, "records", "expected a list of records")])
    if not records:
        raise ValidationFailed("records is empty", [Detail(None, "records", "send at least one record")])
    if len(records) > MAX_RECORDS:
        raise PayloadTooLarge(
            f"{len(records)} records in one batch; the limit is {MAX_RECORDS}",
            [Detail(None, "records", f"at most {MAX_RECORDS} records per request")],
        )
    return records


def _raise_if(errors: list[Detail], total: int) -> None:
    if not errors:
        return
    bad = len({d.index for d in errors})
    raise ValidationFailed(
        f"{bad} of {total} records are invalid; nothing was stored",
        errors[:MAX_ERRORS],
    )
