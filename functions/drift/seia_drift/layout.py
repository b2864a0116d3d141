"""Which columns the engine profiles, and under which feature name.

The model's numeric features are ``num[1..n]``; the engine appends the prediction's numeric
columns (``score`` for binary models, ``prediction_value`` for regression) to that array, and the
predicted label (classification) to ``cat[]``, so one pass profiles inputs and predictions alike.
The label is profiled separately (it arrives later) as ``__label__``.

A removed feature (``PATCH /v1/models/{model}``) has no slot: it is no longer profiled, its position
stays taken. A feature added by PATCH is ``added``: rows written before it have shorter arrays, and
those rows are not rows of the feature at all (neither values nor missing ones; docs/lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from seia.schema import RESERVED_PREFIX, Model

PREDICTION, SCORE, LABEL = "__prediction__", "__score__", "__label__"


@dataclass(frozen=True)
class Slot:
    feature: str
    kind: str  # numeric | categorical
    source: str  # feature | prediction | score | label
    position: int  # 1-based position in the profiled num[] or cat[] array
    added: bool = False  # added after the model was created: older rows' arrays stop before it


@dataclass(frozen=True)
class Layout:
    numeric: tuple[Slot, ...]
    categorical: tuple[Slot, ...]
    label: Slot

    @property
    def slots(self) -> tuple[Slot, ...]:
        return self.numeric + self.categorical + (self.label,)

    def covering(self, features: Iterable[str]) -> Layout:
        """The layout without the feature slots that have no reference bins yet (an added feature the
        reference does not cover: it waits for one that does)."""
        have = set(features)
        return Layout(
            tuple(s for s in self.numeric if s.source != "feature" or s.feature in have),
            tuple(s for s in self.categorical if s.source != "feature" or s.feature in have),
            self.label,
        )

    @property
    def added(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.numeric + self.categorical if s.added)

    @property
    def extra_numeric_columns(self) -> tuple[str, ...]:
        return tuple(
            {"score": "score", "prediction": "prediction_value"}[s.source]
            for s in self.numeric
            if s.source != "feature"
        )

    @property
    def extra_categorical_columns(self) -> tuple[str, ...]:
        return tuple("prediction_label" for s in self.categorical if s.source != "feature")


def layout(model: Model) -> Layout:
    # A feature named like the engine's own slots (__score__), stored before such names were reserved,
    # is left out; the others keep their position in num[] and cat[], and the extra slots come after all.
    state = {f.name: f for f in model.features}
    numeric = [
        Slot(name, "numeric", "feature", i + 1, bool(state[name].added_at))
        for i, name in enumerate(model.numeric)
        if not name.startswith(RESERVED_PREFIX) and not state[name].removed
    ]
    categorical = [
        Slot(name, "categorical", "feature", i + 1, bool(state[name].added_at))
        for i, name in enumerate(model.categorical)
        if not name.startswith(RESERVED_PREFIX) and not state[name].removed
    ]
    if model.task == "binary_classification":
        numeric.append(Slot(SCORE, "numeric", "score", len(model.numeric) + 1))
    if model.task == "regression":
        numeric.append(Slot(PREDICTION, "numeric", "prediction", len(model.numeric) + 1))
        label = Slot(LABEL, "numeric", "label", 1)
    else:
        categorical.append(Slot(PREDICTION, "categorical", "prediction", len(model.categorical) + 1))
        label = Slot(LABEL, "categorical", "label", 1)
    return Layout(tuple(numeric), tuple(categorical), label)
