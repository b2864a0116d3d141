"""Incidents (0005_incidents.sql): one per (model, kind, subject, condition, reference) episode.

The drift engine derives them from per-window flags (``seia_drift.repositories.incidents``); the
query API lists them, shows one with its timeline and causes, and acknowledges or resolves them
here. Both use these row types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
# A timeline shows at most this many windows (the most recent of a very long incident).
TIMELINE_MAX = 1000
INCIDENT_COLUMNS = """id, model_id, kind, subject, condition, reference_key, granularity, status, severity,
    peak_severity, first_window_start, last_window_end, windows_flagged, opened_at, acknowledged_at,
    acknowledged_note, resolved_at, resolved_by, closed_window_end, summary, details, change"""
# The incidents of a model are its own and its segment models' (tenant migration 0013): `segment` names the
# segment value of the second ('region:eu'), NULL for the first.
FAMILY = "model_id IN (SELECT f.id FROM models f WHERE f.id = %(model)s OR f.parent_id = %(model)s)"
READ_COLUMNS = INCIDENT_COLUMNS + ", (SELECT s.segment FROM models s WHERE s.id = incidents.model_id) AS segment"


@dataclass(frozen=True)
class IncidentRow:
    """An incident (incidents)."""

    id: int
    model_id: int
    kind: str
    subject: str
    condition: str
    reference_key: str
    granularity: str
    status: str
    severity: str
    peak_severity: str
    first_window_start: datetime
    last_window_end: datetime
    windows_flagged: int
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_note: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    closed_window_end: datetime | None
    summary: str
    details: dict
    change: int
    segment: str | None = None  # the segment value it was raised in (read side); None: model-wide

    @property
    def series(self) -> tuple[str, str, str, str]:
        return (self.kind, self.subject, self.condition, self.reference_key)


@dataclass(frozen=True)
class IncidentCauseRow:
    """A ranked probable cause of an incident (incident_causes)."""

    incident_id: int
    rank: int
    feature: str
    segment: str | None
    score: float
    sentence: str
    details: dict


@dataclass(frozen=True)
class TimelineRow:
    """One evaluated window of an incident's span: flagged, clean or insufficient."""

    window_start: datetime
    window_end: datetime
    state: str
    severity: str | None
    message: str | None
    details: dict | None


@dataclass(frozen=True)
class IncidentChangeRow:
    """A state change of an incident (incident_changes): what delivery sends."""

    id: int
    incident_id: int
    model_id: int
    change: str
    severity: str | None
    at: datetime


@dataclass(frozen=True)
class Cursor:
    """Where a page of the list (open first, then the most recent) stops."""

    resolved: bool
    last_window_end: datetime
    id: int


class IncidentReadRepository:
    # open and acknowledged first, then by the end of their last flagged window, newest first
    PAGE = f"""
        SELECT {READ_COLUMNS} FROM incidents
        WHERE {FAMILY} AND (%(status)s::text IS NULL OR status = %(status)s)
          AND (%(segment)s::text IS NULL
               OR model_id = (SELECT f.id FROM models f WHERE f.parent_id = %(model)s AND f.segment = %(segment)s))
          AND last_window_end > %(from)s AND first_window_start < %(to)s
          AND (%(c_resolved)s::boolean IS NULL
               OR (status = 'resolved') > %(c_resolved)s
               OR ((status = 'resolved') = %(c_resolved)s
                   AND (last_window_end, id) < (%(c_end)s::timestamptz, %(c_id)s::bigint)))
        ORDER BY (status = 'resolved'), last_window_end DESC, id DESC LIMIT %(limit)s"""
    ONE = f"SELECT {READ_COLUMNS} FROM incidents WHERE {FAMILY} AND id = %(id)s"
    OPEN_COUNT = f"""
        SELECT count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'acknowledged')
        FROM incidents WHERE {FAMILY} AND status <> 'resolved'"""
    CAUSES = """
        SELECT incident_id, rank, feature, segment, score, sentence, details FROM incident_causes
        WHERE incident_id = ANY(%s) AND (%s::int IS NULL OR rank <= %s) ORDER BY incident_id, rank"""
    # The evaluated windows of the incident's span, the flagged and insufficient ones from its series,
    # the others clean (a window the drift step found too small is insufficient for every series).
    TIMELINE = """
        SELECT * FROM (
            SELECT f.window_start, f.window_end, f.state, f.severity, f.message, f.details
            FROM alert_windows f
            WHERE f.model_id = %(model)s AND f.kind = %(kind)s AND f.subject = %(subject)s
              AND f.condition = %(condition)s AND f.reference_key = %(reference)s AND f.granularity = %(g)s
              AND f.window_start >= %(from)s AND f.window_start < %(to)s
            UNION ALL
            SELECT w.window_start, w.window_end,
                   CASE WHEN w.status = 'ok' THEN 'clean' ELSE 'insufficient' END, NULL, NULL, NULL
            FROM drift_windows w
            WHERE w.model_id = %(model)s AND w.granularity = %(g)s
              AND w.window_start >= %(from)s AND w.window_start < %(to)s
              AND NOT EXISTS (
                  SELECT 1 FROM alert_windows f
                  WHERE f.model_id = w.model_id AND f.granularity = w.granularity AND f.window_start = w.window_start
                    AND f.kind = %(kind)s AND f.subject = %(subject)s AND f.condition = %(condition)s
                    AND f.reference_key = %(reference)s)
            ORDER BY window_start DESC LIMIT %(limit)s
        ) t ORDER BY window_start"""
    ACKNOWLEDGE = f"""
        UPDATE incidents SET status = 'acknowledged', acknowledged_at = now(), acknowledged_note = %(note)s,
                             updated_at = now()
        WHERE {FAMILY} AND id = %(id)s AND status = 'open'
        RETURNING {READ_COLUMNS}"""
    RESOLVE = f"""
        UPDATE incidents SET status = 'resolved', resolved_at = now(), resolved_by = 'user', updated_at = now()
        WHERE {FAMILY} AND id = %(id)s AND status <> 'resolved'
        RETURNING {READ_COLUMNS}"""
    ADD_CHANGE = "INSERT INTO incident_changes (incident_id, model_id, change, severity) VALUES (%s, %s, %s, %s)"
    UNRESOLVED_OF = f"SELECT id FROM incidents WHERE {FAMILY} AND status <> 'resolved' AND subject = ANY(%(subjects)s)"

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def unresolved_of(self, model_id: int, subjects: list[str]) -> list[int]:
        """Ids of the open or acknowledged incidents about these features (of its segment models too)."""
        return [r[0] for r in self.conn.execute(self.UNRESOLVED_OF, {"model": model_id, "subjects": subjects})]

    def page(
        self,
        model_id: int,
        status: str | None,
        start,
        end,
        after: Cursor | None,
        limit: int,
        segment: str | None = None,
    ) -> list[IncidentRow]:
        """A page of the model's incidents and its segment models'; with `segment` ('region:eu'), of that segment
        model only."""
        with self.conn.cursor(row_factory=class_row(IncidentRow)) as cur:
            return cur.execute(
                self.PAGE,
                {
                    "model": model_id,
                    "segment": segment,
                    "status": status,
                    "from": start,
                    "to": end,
                    "c_resolved": after.resolved if after else None,
                    "c_end": after.last_window_end if after else None,
                    "c_id": after.id if after else None,
                    "limit": limit,
                },
            ).fetchall()

    def get(self, model_id: int, incident_id: int) -> IncidentRow | None:
        with self.conn.cursor(row_factory=class_row(IncidentRow)) as cur:
            return cur.execute(self.ONE, {"model": model_id, "id": incident_id}).fetchone()

    def open_counts(self, model_id: int) -> tuple[int, int]:
        """(open, acknowledged) incidents of the model."""
        found = self.conn.execute(self.OPEN_COUNT, {"model": model_id}).fetchone()
        assert found is not None  # an aggregate without GROUP BY returns one row
        return found[0], found[1]

    def causes(self, incident_ids: list[int], top: int | None = None) -> dict[int, list[IncidentCauseRow]]:
        out: dict[int, list[IncidentCauseRow]] = {}
        with self.conn.cursor(row_factory=class_row(IncidentCauseRow)) as cur:
            for c in cur.execute(self.CAUSES, (incident_ids, top, top)).fetchall():
                out.setdefault(c.incident_id, []).append(c)
        return out

    def timeline(self, incident: IncidentRow, limit: int = TIMELINE_MAX) -> list[TimelineRow]:
        i = incident
        with self.conn.cursor(row_factory=class_row(TimelineRow)) as cur:
            return cur.execute(
                self.TIMELINE,
                {
                    "model": i.model_id,
                    "kind": i.kind,
                    "subject": i.subject,
                    "condition": i.condition,
                    "reference": i.reference_key,
                    "g": i.granularity,
                    "from": i.first_window_start,
                    "to": max(i.last_window_end, i.closed_window_end or i.last_window_end),
                    "limit": limit,
                },
            ).fetchall()

    def acknowledge(self, model_id: int, incident_id: int, note: str | None) -> IncidentRow | None:
        """The incident, newly acknowledged; None when it was not open (acknowledged, resolved or absent)."""
        with self.conn.cursor(row_factory=class_row(IncidentRow)) as cur:
            return cur.execute(self.ACKNOWLEDGE, {"note": note, "model": model_id, "id": incident_id}).fetchone()

    def resolve(self, model_id: int, incident_id: int) -> IncidentRow | None:
        """The incident, resolved by the user now (a 'resolved' change is recorded); None when it was
        already resolved or is absent. The condition returning later opens a new incident."""
        with self.conn.cursor(row_factory=class_row(IncidentRow)) as cur:
            row = cur.execute(self.RESOLVE, {"model": model_id, "id": incident_id}).fetchone()
        if row is not None:
            # under the incident's own model (a segment model's), whose notify step delivers it
            self.conn.execute(self.ADD_CHANGE, (row.id, row.model_id, "resolved", row.severity))
        return row
