"""Strict JSON: the standard library accepts NaN and Infinity, which are not JSON."""

from __future__ import annotations

import json
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


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_default)


def _default(value: Any) -> Any:
    from datetime import date, datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
