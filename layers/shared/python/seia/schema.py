"""A model's definition: its task, features and labels, and how rows are laid out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

TASKS = ("binary_classification", "multiclass_classification", "regression")
FEATURE_TYPES = ("numeric", "categorical")
# Column names of bulk files and record fields: a feature may not take one of them.
RESERVED = frozenset({"prediction_id", "timestamp", "prediction", "score", "label", "features"})
# Longest id and category string accepted by the API and in files alike.
MAX_ID_LENGTH = 200
MAX_CATEGORY_LENGTH = 200
# The drift engine profiles predictions, scores and labels as __prediction__, __score__ and __label__;
# every name starting with __ is kept for it.
RESERVED_PREFIX = "__"
# Bulk files give a class's probability in the column score_<label>.
SCORE_COLUMN_PREFIX = "score_"


@dataclass(frozen=True)
class Feature:
    """A declared feature. ``added_at``: set on a feature added by ``PATCH /v1/models/{model}`` (records may
    leave it out); ``removed_at``: a removed feature keeps its slot in ``num[]``/``cat[]`` (positions never
    shift) and its history, but is no longer stored nor profiled (docs/lifecycle.md)."""

    name: str
    type: str
    added_at: str | None = None
    removed_at: str | None = None

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def as_dict(self) -> dict:
        out = {"name": self.name, "type": self.type}
        if self.added_at:
            out["added_at"] = self.added_at
        if self.removed_at:
            out["removed_at"] = self.removed_at
        return out


@dataclass(frozen=True)
class Model:
    id: int
    name: str
    task: str
    features: tuple[Feature, ...]
    labels: tuple[str, ...] | None
    settings: dict = field(default_factory=dict, compare=False)
    created_at: datetime | None = None
    # Declared segment fields, in slot order of the rows' ``seg[]`` (tenant migration 0013).
    segments: tuple[str, ...] = ()
    # A segment model (the drift engine's view of one segment value): its parent and '<field>:<value>'.
    parent_id: int | None = None
    segment: str | None = None

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def active_features(self) -> tuple[Feature, ...]:
        """The features not removed: those the records carry and the drift engine profiles."""
        return tuple(f for f in self.features if not f.removed)

    @property
    def numeric(self) -> tuple[str, ...]:
        """Numeric feature names, in the order of the rows' ``num[]`` array (removed ones keep their slot)."""
        return tuple(f.name for f in self.features if f.type == "numeric")

    @property
    def categorical(self) -> tuple[str, ...]:
        """Categorical feature names, in the order of the rows' ``cat[]`` array (removed ones keep their slot)."""
        return tuple(f.name for f in self.features if f.type == "categorical")

    @property
    def positive_label(self) -> str | None:
        """For binary classification, the class whose probability ``score`` is: the second label."""
        return self.labels[1] if self.task == "binary_classification" and self.labels else None

    def as_dict(self) -> dict:
        body: dict[str, object] = {
            "name": self.name,
            "task": self.task,
            "features": [f.as_dict() for f in self.features],
            "segments": list(self.segments),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "settings": dict(self.settings or {}),
        }
        if self.labels is not None:
            body["labels"] = list(self.labels)
        return body
