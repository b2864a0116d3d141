"""What older versions stored and today's rules refuse: read around it, never fail on it.

Before issue 11 a model could be created with any ``settings`` and with a feature named like the
engine's own columns (``__score__``). Such a model must still be drift-able and readable: the bad
keys fall back to their defaults, the reserved features are left out, and the engine reports both
in a data-quality finding (with the count of rows whose timestamps are out of range).
"""

from __future__ import annotations

from seia import model_settings
from seia.errors import ValidationFailed
from seia.schema import RESERVED_PREFIX, Model


def usable_settings(settings) -> tuple[dict, list[str]]:
    """The stored settings without what today's rules reject, and one line per key left out.

    The rules are those of ``PUT .../settings`` (:func:`seia.model_settings.updated`); a key left out
    takes its default.
    """
    if not isinstance(settings, dict):
        return {}, ["settings: not an object; the defaults apply"]
    try:
        return model_settings.updated({}, settings), []
    except ValidationFailed:
        pass
    kept, dropped = {}, []
    for key, value in settings.items():
        try:
            kept.update(model_settings.updated({}, {key: value}))
        except ValidationFailed as exc:
            dropped += [f"settings.{d.field}: {d.message}; the default applies" for d in exc.details]
    try:
        return model_settings.updated({}, kept), dropped
    except ValidationFailed as exc:  # valid one by one, not together (e.g. medium_factor >= high_factor)
        return {}, dropped + [f"settings.{d.field}: {d.message}; every default applies" for d in exc.details]


def reserved_features(model: Model) -> list[str]:
    """Features named like the engine's own columns (``__score__``): left out of profiling."""
    return [f.name for f in model.features if f.name.startswith(RESERVED_PREFIX)]
