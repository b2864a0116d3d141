"""What an API key may do: its scopes, and the one rule that says which scope each route needs.

A key holds one or more of ``ingest``, ``read`` and ``admin``. ``admin`` may do everything; ``read`` may
read; ``ingest`` may write predictions, ground truths and reference rows (and read a model's definition,
which a client needs to turn its columns into records). Every authenticated route of every HTTP function
goes through :func:`required` (``seia.http.authenticated_views``): GET and HEAD need ``read``, POST to
``.../predictions``, ``.../ground-truths`` and ``.../reference`` needs ``ingest``, anything else needs
``admin``. So a route someone adds later is closed to all but admin keys until it says otherwise with
``@authenticated(scope=...)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from seia.errors import Detail, Forbidden, ValidationFailed
from seia.timeutil import LATEST

INGEST = "ingest"
READ = "read"
ADMIN = "admin"
SCOPES = (INGEST, READ, ADMIN)
# A route any valid key may call, whatever its scopes (e.g. GET /v1/key: what may I do?).
ANY = frozenset(SCOPES)

_READ_METHODS = frozenset({"GET", "HEAD"})
_INGEST_SUFFIXES = ("/predictions", "/ground-truths", "/reference")
# The longest expiry a key may be given; beyond it an operator revokes and re-issues.
MAX_LIFETIME = timedelta(days=3650)


def default_rule(method: str, path: str) -> frozenset[str]:
    """The scope a route needs unless it declares its own: ``path`` is the route's template.

    >>> sorted(default_rule("GET", "/v1/models/{model}/drift"))
    ['read']
    >>> sorted(default_rule("POST", "/v1/models/{model}/ground-truths"))
    ['ingest']
    >>> sorted(default_rule("POST", "/v1/models/{model}/alerts/{alert_id}/resolve"))
    ['admin']
    """
    method = method.upper()
    if method in _READ_METHODS:
        return frozenset({READ})
    if method == "POST" and path.endswith(_INGEST_SUFFIXES):
        return frozenset({INGEST})
    return frozenset({ADMIN})


def required(method: str, path: str, declared: Iterable[str] | None = None) -> frozenset[str]:
    """Scopes of which a key needs one (``admin`` always does): the route's declared ones, else the rule."""
    if declared is None:
        return default_rule(method, path)
    needs = frozenset(declared)
    unknown = needs - ANY
    if not needs or unknown:
        raise ValueError(f"{method} {path} declares scopes {sorted(needs)}; use some of {', '.join(SCOPES)}")
    return needs


def allows(held: Iterable[str], needs: Iterable[str]) -> bool:
    held = set(held)
    return ADMIN in held or bool(held & set(needs))


def check(held: Iterable[str], method: str, path: str, declared: Iterable[str] | None = None) -> None:
    """403 unless a key with scopes ``held`` may call ``method path`` (the route's template, never a raw path)."""
    needs = required(method, path, declared)
    held = sorted(set(held))
    if allows(held, needs):
        return
    have = f"scope {held[0]}" if len(held) == 1 else f"scopes {', '.join(held)}"
    want = " or ".join(s for s in SCOPES if s in needs) if needs != ANY else "any scope"
    raise Forbidden(
        f"this key has {have}; {method.upper()} {path} needs {want}",
        [Detail(None, "scope", f"ask for a key with scope {want} (seia key create TENANT --scope ...)")],
    )


def parse(values: Iterable[str]) -> list[str]:
    """``--scope`` values (repeated and/or comma lists) → the scopes in canonical order; 400 naming a bad one.

    >>> parse(["read,ingest", "read"])
    ['ingest', 'read']
    """
    found = set()
    for value in values:
        for part in str(value).split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in SCOPES:
                raise ValidationFailed(
                    f"unknown scope {part.strip()[:40]!r}",
                    [Detail(None, "--scope", f"must be one of {', '.join(SCOPES)}")],
                )
            found.add(name)
    if not found:
        raise ValidationFailed(
            "a key needs at least one scope",
            [Detail(None, "--scope", f"give one or more of {', '.join(SCOPES)} (repeat the flag or a comma list)")],
        )
    return [s for s in SCOPES if s in found]


def parse_expiry(value: str, now: datetime | None = None) -> datetime:
    """``--expires``: a duration (``90d``, ``12h``) from now, or an ISO date or time (a date alone: 00:00 UTC).

    >>> parse_expiry("12h", datetime(2026, 1, 1, tzinfo=UTC)).isoformat()
    '2026-01-01T12:00:00+00:00'
    >>> parse_expiry("2026-03-01", datetime(2026, 1, 1, tzinfo=UTC)).isoformat()
    '2026-03-01T00:00:00+00:00'
    """
    now = now or datetime.now(UTC)
    text = str(value).strip()
    bad = ValidationFailed(
        f"--expires {text[:40]!r} is neither a duration nor a date",
        [Detail(None, "--expires", "give a duration such as 90d or 12h, or a date such as 2027-01-31")],
    )
    expires: datetime
    if text[-1:].lower() in ("d", "h") and text[:-1].isascii() and text[:-1].isdigit():
        amount = int(text[:-1])
        if amount > MAX_LIFETIME.days * 24:  # bounded before timedelta sees it (no OverflowError)
            amount = MAX_LIFETIME.days * 24 + 1
        expires = now + (timedelta(days=amount) if text[-1].lower() == "d" else timedelta(hours=amount))
    else:
        try:
            if not text.isascii():
                raise ValueError(text)
            expires = datetime.fromisoformat(text)
        except ValueError:
            raise bad from None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
    if expires <= now:
        raise ValidationFailed(
            f"--expires {text[:40]!r} is not in the future",
            [Detail(None, "--expires", f"must be after now ({now.isoformat(timespec='seconds')})")],
        )
    if expires - now > MAX_LIFETIME or expires >= LATEST:
        raise ValidationFailed(
            f"--expires {text[:40]!r} is too far away",
            [Detail(None, "--expires", f"at most {MAX_LIFETIME.days} days from now")],
        )
    return expires
