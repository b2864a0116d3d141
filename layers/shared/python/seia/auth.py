"""API keys: ``seia_<prefix>_<secret>``.

The prefix (10 hex characters) finds the key's row and is safe to show; the secret is 32 random
bytes. The admin database keeps only SHA-256 of the whole key, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from seia.errors import Unauthorized

_KEY = re.compile(r"^seia_([0-9a-f]{10})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    prefix: str
    key: str
    key_hash: bytes


def new_key() -> NewKey:
    prefix = secrets.token_hex(5)
    key = f"seia_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, key=key, key_hash=hash_key(key))


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_prefix(key: str) -> str | None:
    match = _KEY.match(key)
    return match.group(1) if match else None


def normalise_prefix(value: str) -> str:
    """Accept ``seia_0123456789``, ``0123456789`` or a whole key; return the 10-character prefix."""
    value = value.strip()
    if value.startswith("seia_"):
        value = value[5:]
    return value[:10]


def bearer_key(headers) -> str:
    """The API key from an ``Authorization: Bearer`` header, or 401."""
    header = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing API key: send 'Authorization: Bearer <api key>'")
    return token.strip()


def matches(key: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_key(key), bytes(stored_hash))
