"""A model's drift settings as ``PUT /v1/models/{model}/settings`` takes them.

Stored in ``models.settings`` under exactly the keys the drift engine reads; every key, its range
and its default is registered in :mod:`seia.registry`, so a bad value is a 400 naming its field
here instead of a failed drift run.
"""

from __future__ import annotations

from typing import Any

from seia.errors import Detail, ValidationFailed
from seia.registry import REGISTRY


def updated(current: dict[str, Any], body: Any, resolve: bool = False) -> dict[str, Any]:
    """The settings after applying `body`: each key sent replaces the stored one, null removes it.

    With `resolve` (a user saving settings) the host names of webhook and Slack URLs are looked up and refused
    when any address is one Seia must not call (:mod:`seia.egress`); the send does it again."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", [Detail(None, None, "expected an object")])
    problems = REGISTRY.problems(body, resolve=resolve)
    if problems:
        raise ValidationFailed("invalid settings", [Detail(None, field, message) for field, message in problems])
    out = dict(current or {})
    for key, value in body.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out
