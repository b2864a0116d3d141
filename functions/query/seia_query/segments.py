"""``segment=region:eu`` on the read routes: the segment model the drift engine follows that value with.

A segment model (seia.segment_rows) holds the same derived rows as a model, so every read route answers for it
unchanged once the parameter is resolved here: to the segment model, under the parent's name and definition.
"""

from __future__ import annotations

import dataclasses

from seia.errors import Detail, ValidationFailed
from seia.repositories.models import ModelRepository
from seia.schema import Model
from seia.segment_rows import OTHER, Rows, followed, rows_of, segment_fields, split

MAX_LENGTH = 300
# A declared field's `other` before the engine's first run follows it: no model has this id (ids start at 1),
# so every read answers what a model without results answers (an empty list).
NOT_YET = 0


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed("invalid segment", [Detail(None, "segment", message)])


def values(conn, model: Model) -> dict[str, list[str]]:
    """Each declared field's followed values, then ``other`` (``GET /v1/models/{model}``'s ``segment_values``)."""
    found = followed(m.segment or "" for m in ModelRepository(conn).segment_models(model.id))
    return {f: [*found.get(f, []), OTHER] for f in segment_fields(model)}


def resolve(conn, model: Model, params: dict) -> tuple[Model, Rows | None]:
    """The model the read answers for, and (for a segment) its raw rows; the model itself without ``segment``.
    400 naming ``segment`` when it is malformed, names no declared field or a value that is not followed."""
    raw = params.get("segment")
    if raw in (None, ""):
        return model, None
    if not isinstance(raw, str) or len(raw) > MAX_LENGTH or ":" not in raw:
        raise _invalid("must be <field>:<value>, e.g. region:eu")
    field, value = split(raw)
    fields = segment_fields(model)
    if field not in fields:
        declared = ", ".join(fields) if fields else "none"
        raise _invalid(f"{field!r} is not a segment field of this model (declared: {declared})")
    if not value:
        raise _invalid("must be <field>:<value>, e.g. region:eu (the value is empty)")
    children = ModelRepository(conn).segment_models(model.id)
    siblings = [c.segment or "" for c in children]
    match = next((c for c in children if c.segment == raw), None)
    if match is None and value != OTHER:
        shown = followed(siblings).get(field, [])
        listed = ", ".join(shown[:50]) + (", ..." if len(shown) > 50 else "") if shown else "none yet"
        raise _invalid(
            f"{value!r} is not a followed value of {field} (followed: {listed}); the rest are under {field}:{OTHER}"
        )
    segment_model = dataclasses.replace(
        model, id=match.id if match else NOT_YET, parent_id=model.id, segment=raw, segments=()
    )
    return segment_model, rows_of(model, raw, siblings)
