"""RFC 3339 timestamps, always with an offset, within the years Seia stores.

Python's datetime ends at year 9999 and PostgreSQL's goes further and before year 1; a timestamp
of year 10000 or year 0 in UTC would be stored and then break every read and drift run. Every
timestamp Seia accepts is in [EARLIEST, LATEST) after conversion to UTC: the years 1970 to 2200.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2201, 1, 1, tzinfo=UTC)
RANGE_TEXT = "years 1970 to 2200 (UTC)"


def parse_rfc3339(value: object) -> datetime:
    """Parse an RFC 3339 timestamp; raise ``ValueError`` when it has no offset.

    >>> parse_rfc3339("2026-01-02T03:04:05Z").isoformat()
    '2026-01-02T03:04:05+00:00'
    """
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 string such as 2026-01-02T03:04:05Z")
    if len(value) < 19 or value[10] not in "Tt ":
        raise ValueError("must be an RFC 3339 timestamp with date and time, e.g. 2026-01-02T03:04:05Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an RFC 3339 timestamp (e.g. 2026-01-02T03:04:05+00:00)") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("has no UTC offset (add Z or +hh:mm)")
    if not EARLIEST <= parsed < LATEST:  # compared without converting: year 0 in UTC would overflow
        raise ValueError(f"is out of range: Seia takes timestamps in the {RANGE_TEXT}")
    return parsed


def parse_query_time(value: str | None, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        from seia.errors import Detail, ValidationFailed

        raise ValidationFailed(f"{field} {exc}", [Detail(None, field, str(exc))]) from None


def utcnow() -> datetime:
    return datetime.now(UTC)
