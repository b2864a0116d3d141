"""A model's definition after ``PATCH /v1/models/{model}``: what may change, and why the rest may not.

The body has the shape ``GET /v1/models/{model}`` answers, with the keys to change:

- ``features``: the whole list, edited. Existing entries keep their place, name and type; an entry marked
  ``"removed": true`` is removed (its slot stays, so positions in ``num[]``/``cat[]`` never shift); new
  entries go at the end. A rename or a retype is refused: the stored values and the drift history of a
  feature are under its name and in its array (numbers in ``num[]``, text in ``cat[]``).
- ``labels``: the whole list; the stored labels stay first, in order (``scores`` are stored in label order),
  new ones are appended. A binary model keeps its two labels.
- ``segments``: the whole list of segment fields (docs/segments.md); the stored ones stay first, in order, new
  ones are appended (at most 3 in all). A removal, rename or reorder is refused: rows store their segment values
  by slot (``seg[]``) and the history of each value is kept under its field.
- ``settings``: merged as ``PUT /v1/models/{model}/settings`` does.

``name`` and ``task`` may be sent back unchanged (a GET body edited); any change of them is refused.
See docs/lifecycle.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from seia import naming, segment_fields
from seia.errors import Detail, ValidationFailed
from seia.schema import (
    FEATURE_TYPES,
    MAX_CATEGORY_LENGTH,
    RESERVED,
    RESERVED_PREFIX,
    SCORE_COLUMN_PREFIX,
    Feature,
    Model,
)

MAX_FEATURES = 500  # slots, removed ones included (as POST /v1/models)
MAX_LABELS = 1000
FIELDS = ("name", "task", "features", "labels", "segments", "settings", "created_at")
FEATURE_FIELDS = frozenset({"name", "type", "removed", "added_at", "removed_at"})


@dataclass(frozen=True)
class Patch:
    """What a valid PATCH changes: the new features and labels, the settings body to merge (None: unchanged)."""

    features: tuple[Feature, ...]
    labels: tuple[str, ...] | None
    settings: dict | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    added_labels: tuple[str, ...]
    segments: tuple[str, ...] = ()
    added_segments: tuple[str, ...] = ()


def patch(model: Model, body: Any, now: datetime | None = None) -> Patch:
    """Validate a PATCH body against the stored model; every problem is listed in one 400."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", [Detail(None, None, "expected an object")])
    stamp = (now or datetime.now(UTC)).isoformat()
    errors: list[Detail] = [
        Detail(None, str(k)[:64], f"unknown field; use {', '.join(FIELDS)}") for k in body if k not in FIELDS
    ]
    if "name" in body and body["name"] != model.name:
        errors.append(
            Detail(None, "name", "a model's name cannot change (its API paths and files use it); create a new model")
        )
    if "task" in body and body["task"] != model.task:
        errors.append(
            Detail(None, "task", f"the task is {model.task} and cannot change (predictions are stored for it)")
        )
    features = model.features
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    if "features" in body:
        features, added, removed = _features(model, body["features"], stamp, errors)
    labels = model.labels
    added_labels: tuple[str, ...] = ()
    if "labels" in body:
        labels, added_labels = _labels(model, body["labels"], errors)
    if labels:
        score_columns = {SCORE_COLUMN_PREFIX + t for t in labels}
        errors += [
            Detail(None, "features", f"{f.name!r} is the file column of a class's score (label {f.name[6:]!r})")
            for f in features
            if f.name in score_columns and (f.name in added or f.name[6:] in added_labels)
        ]
    segments = model.segments
    added_segments: tuple[str, ...] = ()
    if "segments" in body and body["segments"] is not None:
        segments, added_segments = _segments(model, body["segments"], features, labels, errors)
    if segments:
        errors += [
            Detail(None, "features", f"{f.name!r} is a segment field of the model; a feature needs a name of its own")
            for f in features
            if f.name in added and f.name in segments
        ]
        errors += [
            Detail(
                None, "labels", f"label {label!r}: its file column {SCORE_COLUMN_PREFIX + label!r} is a segment field"
            )
            for label in added_labels
            if SCORE_COLUMN_PREFIX + label in segments
        ]
    settings = body.get("settings")
    if "settings" in body and not isinstance(settings, dict):
        errors.append(Detail(None, "settings", "must be an object (keys sent replace the stored ones)"))
    if errors:
        raise ValidationFailed("invalid model change", errors)
    return Patch(features, labels, settings, added, removed, added_labels, segments, added_segments)


def _features(
    model: Model, value: Any, stamp: str, errors: list[Detail]
) -> tuple[tuple[Feature, ...], tuple[str, ...], tuple[str, ...]]:
    stored = model.features
    if not isinstance(value, list):
        errors.append(Detail(None, "features", "must be the list of features, as GET /v1/models/{model} gives it"))
        return stored, (), ()
    if len(value) < len(stored):
        errors.append(
            Detail(
                None,
                "features",
                f"the list has {len(value)} entries; it must keep all {len(stored)} features in order "
                '(mark one {"removed": true} to stop monitoring it; its slot and history stay)',
            )
        )
        return stored, (), ()
    if len(value) > MAX_FEATURES:
        errors.append(
            Detail(None, "features", f"at most {MAX_FEATURES} features (removed ones count: their slot stays)")
        )
        return stored, (), ()
    out: list[Feature] = []
    added: list[str] = []
    removed: list[str] = []
    names = {f.name: i for i, f in enumerate(stored)}
    for i, entry in enumerate(value):
        where = f"features[{i}]"
        if not isinstance(entry, dict) or not {"name"} <= set(entry) <= FEATURE_FIELDS:
            errors.append(Detail(None, where, "must be an object with name, type and optionally removed"))
            continue
        fname, ftype = entry.get("name"), entry.get("type")
        wants_removed = entry.get("removed") is True or entry.get("removed_at") is not None
        if "removed" in entry and not isinstance(entry["removed"], bool):
            errors.append(Detail(None, f"{where}.removed", "must be true or false"))
            continue
        if i < len(stored):
            old = stored[i]
            if fname != old.name:
                errors.append(
                    Detail(
                        None,
                        f"{where}.name",
                        f"feature {old.name!r} cannot be renamed to {str(fname)[:64]!r}: its stored values and "
                        "drift history are kept under its name; mark it removed and add the new name at the end",
                    )
                )
                continue
            if "type" in entry and ftype != old.type:
                errors.append(
                    Detail(
                        None,
                        f"{where}.type",
                        f"feature {old.name!r} is {old.type} and its type cannot change: its values are stored as "
                        f"{'numbers (num[])' if old.type == 'numeric' else 'text (cat[])'} and its reference and "
                        "history were computed as such; mark it removed and add a feature under a new name",
                    )
                )
                continue
            if old.removed and not wants_removed and entry.get("removed") is False:
                errors.append(
                    Detail(
                        None,
                        f"{where}.removed",
                        f"feature {old.name!r} was removed on {old.removed_at}; a removed feature does not come "
                        "back (its rows since carry no values); add it under a new name",
                    )
                )
                continue
            if wants_removed and not old.removed:
                out.append(Feature(old.name, old.type, old.added_at, stamp))
                removed.append(old.name)
            else:
                out.append(old)
            continue
        # a new feature, appended
        if not isinstance(fname, str) or not naming.FEATURE_NAME.fullmatch(fname):
            errors.append(Detail(None, f"{where}.name", "must match ^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"))
            continue
        if fname in RESERVED or fname.startswith(RESERVED_PREFIX):
            errors.append(Detail(None, f"{where}.name", f"{fname!r} is reserved (as is every name starting with __)"))
            continue
        if fname in names:
            j = names[fname]
            why = (
                f"it belonged to a feature removed on {stored[j].removed_at} (its history keeps the name)"
                if j < len(stored) and stored[j].removed
                else f"features[{j}] has it"
            )
            errors.append(Detail(None, f"{where}.name", f"duplicate feature {fname!r}: {why}; pick another name"))
            continue
        if ftype not in FEATURE_TYPES:
            errors.append(Detail(None, f"{where}.type", "must be 'numeric' or 'categorical'"))
            continue
        if wants_removed:
            errors.append(Detail(None, f"{where}.removed", "a new feature cannot be removed already"))
            continue
        names[fname] = i
        out.append(Feature(fname, ftype, stamp, None))
        added.append(fname)
    return tuple(out), tuple(added), tuple(removed)


def _segments(
    model: Model, value: Any, features: tuple[Feature, ...], labels: tuple[str, ...] | None, errors: list[Detail]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The segment fields after the PATCH and those it appends; a removal, rename or reorder is refused."""
    stored = model.segments
    if not isinstance(value, list):
        errors.append(
            Detail(None, "segments", "must be the list of segment fields, as GET /v1/models/{model} gives it")
        )
        return stored, ()
    why = (
        "each row stores its segment values by slot (seg[]) and the drift history of every value is kept under "
        "its field; the stored fields stay first, in order, and new ones are appended"
    )
    problems = []
    for i, name in enumerate(stored):
        if i >= len(value):
            problems.append(Detail(None, "segments", f"segment field {name!r} cannot be removed: {why}"))
            break
        sent = value[i]
        if sent == name:
            continue
        if isinstance(sent, str) and sent in stored:
            message = f"the stored segment fields {list(stored)} cannot be reordered: {why}"
        elif name in value:
            message = f"a new segment field goes after the stored ones {list(stored)}: {why}"
        else:
            shown = sent[:64] if isinstance(sent, str) else str(sent)[:64]
            message = f"segment field {name!r} cannot be renamed to {shown!r}: {why}"
        problems.append(Detail(None, f"segments[{i}]", message))
        break
    if problems:
        errors += problems
        return stored, ()
    names, found = segment_fields.problems(
        value, [f.name for f in features], labels, first=len(stored), taken=tuple(stored)
    )
    if found:
        errors += found
        return stored, ()
    return tuple(stored) + tuple(names), tuple(names)


def _labels(model: Model, value: Any, errors: list[Detail]) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    if not model.is_classification:
        if value is not None:
            errors.append(Detail(None, "labels", "regression models have no labels"))
        return model.labels, ()
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in value):
        errors.append(Detail(None, "labels", "must be the list of labels (strings or integers)"))
        return model.labels, ()
    texts = tuple(str(v) for v in value)
    stored = tuple(model.labels or ())
    if texts[: len(stored)] != stored:
        errors.append(
            Detail(
                None,
                "labels",
                f"the stored labels {list(stored)} must stay first, in order (scores are stored in label order); "
                "new labels go at the end",
            )
        )
        return model.labels, ()
    added = texts[len(stored) :]
    if any(not t or len(t) > MAX_CATEGORY_LENGTH or "\x00" in t for t in added):
        errors.append(Detail(None, "labels", f"labels must be 1 to {MAX_CATEGORY_LENGTH} characters, no NUL"))
    elif len(set(texts)) != len(texts):
        errors.append(Detail(None, "labels", "labels must be distinct"))
    elif model.task == "binary_classification" and added:
        errors.append(
            Detail(
                None,
                "labels",
                "a binary model has exactly two labels [negative, positive]; a model with more classes is a new "
                "multiclass_classification model",
            )
        )
    elif len(texts) > MAX_LABELS:
        errors.append(Detail(None, "labels", f"at most {MAX_LABELS} labels"))
    return texts, added
