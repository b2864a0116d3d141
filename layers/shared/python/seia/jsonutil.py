"""Strict JSON: UTF-8 only, no NaN or Infinity, no duplicate keys, no lone surrogates.

The standard library accepts NaN and Infinity (not JSON), guesses UTF-16 and UTF-32 from the bytes,
lets the last of two equal keys win, and decodes ``"\\ud800"`` into a string PostgreSQL cannot store.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# An integer of more than 308 digits is beyond float range; no field takes one, so it parses as
# infinity and each field's own check rejects it by name ("must be a finite number").
_LONG_DIGITS = re.compile(rb"\d{309}")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_FLOAT_MAX_DIGITS = 308


class JSONError(ValueError):
    pass


class JSONEncodingError(JSONError):
    """The bytes are not UTF-8 (UTF-16 with a BOM, Latin-1, ...)."""


class LoneSurrogate(JSONError):
    """A string holds a lone UTF-16 surrogate; ``path`` says where (``records[0].features.plan``)."""

    def __init__(self, path: list):
        self.path = path
        super().__init__(f"{format_path(path) or 'the body'} holds a lone UTF-16 surrogate (\\ud800-\\udfff)")


def _reject_constant(token: str) -> Any:
    raise JSONError(f"{token} is not valid JSON (use null for a missing value)")


def _unique_pairs(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONError(f"duplicate key {key[:64]!r} in one object")
            seen.add(key)
    return out


def _int_or_infinity(text: str) -> int | float:
    value = int(text)
    if len(text.lstrip("-")) > _FLOAT_MAX_DIGITS:
        try:
            float(value)
        except OverflowError:
            return float("-inf") if value < 0 else float("inf")
    return value


def format_path(path: list) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _surrogate_path(value: Any, path: list) -> list | None:
    if isinstance(value, str):
        return path if _has_lone_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _has_lone_surrogate(key):
                return [*path, key.encode("utf-8", "backslashreplace").decode("ascii")]
            found = _surrogate_path(item, [*path, key])
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _surrogate_path(item, [*path, i])
            if found is not None:
                return found
    return None


def loads(text: str | bytes) -> Any:
    """Parse JSON strictly: see the module's docstring. Raises :class:`JSONError`."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JSONEncodingError(
            "the body is not UTF-8 (send JSON encoded as UTF-8, without a byte order mark)"
        ) from None
    if decoded.startswith("\ufeff"):
        raise JSONEncodingError("the body starts with a byte order mark; send UTF-8 without one")
    hooks: dict = {"parse_constant": _reject_constant, "object_pairs_hook": _unique_pairs}
    if _LONG_DIGITS.search(raw):
        hooks["parse_int"] = _int_or_infinity
    try:
        value = json.loads(decoded, **hooks)
    except JSONError:
        raise
    except ValueError as exc:
        raise JSONError(f"malformed JSON: {exc}") from None
    except RecursionError:
        # The C decoder recurses once per level; a body of 100,000 '[' must be a 400, not a 500.
        raise JSONError("malformed JSON: nested too deeply") from None
    if _SURROGATE_ESCAPE.search(raw):
        path = _surrogate_path(value, [])
        if path is not None:
            raise LoneSurrogate(path)
    return value


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
