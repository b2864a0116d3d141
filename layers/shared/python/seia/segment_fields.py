"""A model's declared segment fields (docs/segments.md): which names ``POST /v1/models`` and ``PATCH`` accept.

A segment field is a categorical field that records carry beside their features (``"segments": {"region":
"eu"}``) and files as a column of that name. Its name follows the feature-name rules, and may be neither a
feature's name (removed features included: their history keeps it), nor reserved, nor the file column of a
class's score (``score_<label>``): in a file, every one of these is a column of its own.
"""

from __future__ import annotations

from typing import Any

from seia import naming
from seia.errors import Detail
from seia.schema import RESERVED, RESERVED_PREFIX, SCORE_COLUMN_PREFIX

MAX_SEGMENTS = 3


def problems(
    value: Any, feature_names, labels, first: int = 0, taken: tuple[str, ...] = ()
) -> tuple[list[str], list[Detail]]:
    """(names, problems) of the segment fields ``value[first:]`` (``first``: how many are stored already, whose
    names are ``taken``). ``feature_names``: every feature's name; ``labels``: the class labels (or None)."""
    errors: list[Detail] = []
    if not isinstance(value, list) or any(isinstance(v, (list, dict)) for v in value):
        return [], [Detail(None, "segments", 'must be a list of field names, e.g. ["region", "model_version"]')]
    if len(value) > MAX_SEGMENTS:
        return [], [Detail(None, "segments", f"at most {MAX_SEGMENTS} segment fields (a model has {len(value)})")]
    features = set(feature_names)
    score_columns = {SCORE_COLUMN_PREFIX + str(label) for label in labels or ()}
    seen = set(taken)
    names: list[str] = []
    for i in range(first, len(value)):
        name = value[i]
        where = f"segments[{i}]"
        if not isinstance(name, str) or not naming.FEATURE_NAME.fullmatch(name):
            errors.append(Detail(None, where, "must match ^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"))
        elif name in RESERVED or name.startswith(RESERVED_PREFIX):
            errors.append(Detail(None, where, f"{name!r} is reserved (as is every name starting with __)"))
        elif name in features:
            errors.append(
                Detail(
                    None,
                    where,
                    f"{name!r} is a feature of the model; a segment field is carried beside the features "
                    "(in files, as a column of its own), so it needs a name of its own",
                )
            )
        elif name in score_columns:
            errors.append(Detail(None, where, f"{name!r} is the file column of a class's score"))
        elif name in seen:
            errors.append(Detail(None, where, f"duplicate segment field {name!r}"))
        else:
            names.append(name)
        if isinstance(name, str):
            seen.add(name)
    return names, errors
