"""Strict JSON: the standard library accepts NaN and Infinity, which are not JSON."""

from __future__ import annotations

import json
import math
from typing import Any


class JSONError(ValueError):
    pass


def _reject_constant(token: str) -> Any:
    raise JSONError(f"{token} is not valid JSON (use null for a missing value)")


def loads(text: str | bytes) -> Any:
    """Parse JSON, rejecting NaN, Infinity and -Infinity."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except JSONError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONError(f"malformed JSON: {exc}") from None
    except RecursionError:
        # The C decoder recurses once per level; a body of 100,000 '[' must be a 400, not a 500.
        raise JSONError("malformed JSON: nested too deeply") from None


class RawJSON(str):
    """Text that is JSON already (e.g. built by PostgreSQL), embedded as is by :func:`dumps`.

    Only as a value of the top-level object: the rest is serialised around it.
    """


def dumps(value: Any) -> str:
    if isinstance(value, dict) and any(isinstance(v, RawJSON) for v in value.values()):
        raw = {f"\u0000raw{i}\u0000": v for i, v in enumerate(v for v in value.values() if isinstance(v, RawJSON))}
        marks = iter(raw)
        outer = {k: (next(marks) if isinstance(v, RawJSON) else v) for k, v in value.items()}
        text = json.dumps(outer, separators=(",", ":"), allow_nan=False, default=_default)
        for mark, fragment in raw.items():
            text = text.replace(json.dumps(mark), fragment, 1)
        return text
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_default)


def _default(value: Any) -> Any:
    from datetime import date, datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def finite(value: Any) -> Any:
    """``value`` made fit for JSON, which has no NaN nor infinity: those become None (null); any other
    float is returned as a plain float (numpy's too), and what is not a float is returned as is.

    Examples
    --------
    >>> finite(float("nan")), finite(float("-inf")), finite(0.25), finite(3), finite(None)
    (None, None, 0.25, 3, None)
    """
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return value
