"""What the alert routes answer: incidents (one per episode of a condition), listed open first then
most recent, one with its per-window timeline and causes, acknowledged or resolved by a user."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from seia.errors import Conflict, Detail, NotFound, ValidationFailed
from seia.jsonutil import finite
from seia.repositories.incidents import Cursor, IncidentReadRepository, IncidentRow
from seia.schema import Model
from seia_query.insights import BEGINNING, END_OF_TIME, VIRTUAL, _ascii_digits, _iso, _limit, _range

STATUSES = ("open", "acknowledged", "resolved", "all")
CAUSES_IN_LIST = 3
_CURSOR = re.compile(r"^([01])\.(-?[0-9]{1,17})\.([0-9]{1,18})$")


def _incident_id(raw) -> int:
    if not _ascii_digits(raw, 18):
        raise NotFound(f"alert {str(raw)[:32]!r} not found")
    return int(raw)


def _cursor(raw) -> Cursor | None:
    if raw in (None, ""):
        return None
    match = _CURSOR.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise ValidationFailed("invalid cursor", [Detail(None, "cursor", "pass next_cursor of the previous page")])
    micros = int(match.group(2))
    try:
        end = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)
    except (OverflowError, OSError, ValueError):
        raise ValidationFailed(
            "invalid cursor", [Detail(None, "cursor", "pass next_cursor of the previous page")]
        ) from None
    return Cursor(match.group(1) == "1", end, int(match.group(3)))


def _next_cursor(i: IncidentRow) -> str:
    delta = i.last_window_end - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{int(i.status == 'resolved')}.{micros}.{i.id}"


def _cause(c) -> dict:
    name, role = VIRTUAL.get(c.feature, (c.feature, "feature"))
    if (c.details or {}).get("segment_field"):  # a declared segment field (docs/segments.md), e.g. region
        role = "segment_field"
    return {
        "rank": c.rank,
        "kind": role,
        "name": name,
        "segment": c.segment,
        "score": finite(c.score),
        "message": c.sentence,
    }


def _incident(model: Model, i: IncidentRow, causes) -> dict:
    return {
        "id": str(i.id),
        "model": model.name,
        "kind": i.kind,
        "subject": i.subject,
        "condition": i.condition,
        "segment": i.segment,
        "status": i.status,
        "severity": i.severity,
        "peak_severity": i.peak_severity,
        "granularity": i.granularity,
        "first_window_start": _iso(i.first_window_start),
        "last_window_end": _iso(i.last_window_end),
        "windows_flagged": i.windows_flagged,
        "opened_at": _iso(i.opened_at),
        "acknowledged_at": _iso(i.acknowledged_at),
        "note": i.acknowledged_note,
        "resolved_at": _iso(i.resolved_at),
        "resolved_by": i.resolved_by,
        "summary": i.summary,
        "causes": [_cause(c) for c in causes],
    }


def incidents(conn, model: Model, params: dict) -> dict:
    status = params.get("status") or "open"
    if status not in STATUSES:
        raise ValidationFailed(
            "invalid status", [Detail(None, "status", "must be open, acknowledged, resolved or all")]
        )
    start, end = _range(params)
    limit = _limit(params)
    after = _cursor(params.get("cursor"))
    repo = IncidentReadRepository(conn)
    rows = repo.page(
        model.id,
        None if status == "all" else status,
        start or BEGINNING,
        end or END_OF_TIME,
        after,
        limit + 1,
        params.get("segment") or None,
    )
    next_cursor = _next_cursor(rows[limit - 1]) if len(rows) > limit else None
    rows = rows[:limit]
    causes = repo.causes([i.id for i in rows], CAUSES_IN_LIST) if rows else {}
    return {"alerts": [_incident(model, i, causes.get(i.id, [])) for i in rows], "next_cursor": next_cursor}


def _detail(repo: IncidentReadRepository, model: Model, row: IncidentRow) -> dict:
    body = _incident(model, row, repo.causes([row.id]).get(row.id, []))
    body["timeline"] = [
        {
            "window_start": _iso(w.window_start),
            "window_end": _iso(w.window_end),
            "state": w.state,
            "severity": w.severity,
            "message": w.message,
        }
        for w in repo.timeline(row)
    ]
    return body


def incident(conn, model: Model, incident_id) -> dict:
    repo = IncidentReadRepository(conn)
    row = repo.get(model.id, _incident_id(incident_id))
    if row is None:
        raise NotFound(f"alert {incident_id!r} not found")
    return _detail(repo, model, row)


def _note(body) -> str | None:
    if body is None:
        body = {}
    if not isinstance(body, dict) or set(body) - {"note"}:
        raise ValidationFailed(
            "the body takes only a note",
            [
                Detail(None, str(k)[:64], "unknown field")
                for k in (body if isinstance(body, dict) else [None])
                if k != "note"
            ],
        )
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 500 or "\x00" in note):
        raise ValidationFailed(
            "invalid note", [Detail(None, "note", "must be a string of at most 500 characters, no NUL character")]
        )
    return note


def acknowledge(conn, model: Model, incident_id, body) -> dict:
    """Open → acknowledged (with an optional note); acknowledging again changes nothing; 409 once resolved."""
    note = _note(body)
    repo = IncidentReadRepository(conn)
    ident = _incident_id(incident_id)
    row = repo.acknowledge(model.id, ident, note) or repo.get(model.id, ident)
    if row is None:
        raise NotFound(f"alert {incident_id!r} not found")
    if row.status == "resolved":
        raise Conflict(
            f"alert {incident_id!r} is resolved", [Detail(None, "status", "resolved: nothing to acknowledge")]
        )
    return _detail(repo, model, row)


def resolve(conn, model: Model, incident_id, body) -> dict:
    """Open or acknowledged → resolved by the user; 409 when it already was."""
    if body not in (None, {}):
        raise ValidationFailed("the body must be empty", [Detail(None, None, "resolve takes no body")])
    repo = IncidentReadRepository(conn)
    ident = _incident_id(incident_id)
    row = repo.resolve(model.id, ident)
    if row is None:
        if repo.get(model.id, ident) is None:
            raise NotFound(f"alert {incident_id!r} not found")
        raise Conflict(f"alert {incident_id!r} is already resolved", [Detail(None, "status", "already resolved")])
    return _detail(repo, model, row)
