"""The engine's side of incidents: per-window flags per series, the incidents derived from them,
their causes and their state changes (0005_incidents.sql)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from seia.repositories.incidents import INCIDENT_COLUMNS, IncidentChangeRow, IncidentRow

Series = tuple[str, str, str, str]  # kind, subject, condition, reference_key


@dataclass(frozen=True)
class NewFlag:
    """What one window says about one series: flagged (with a severity and a message) or insufficient."""

    kind: str
    subject: str
    condition: str
    state: str
    severity: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlagRow:
    kind: str
    subject: str
    condition: str
    reference_key: str
    window_start: datetime
    window_end: datetime
    state: str
    severity: str | None
    message: str | None
    details: dict[str, Any]

    @property
    def series(self) -> Series:
        return (self.kind, self.subject, self.condition, self.reference_key)


@dataclass(frozen=True)
class EvaluatedWindow:
    window_start: datetime
    window_end: datetime
    status: str


@dataclass(frozen=True)
class Cause:
    """A probable cause as ranked, before it is stored (with its incident and rank)."""

    feature: str
    segment: str | None
    score: float
    sentence: str
    details: dict[str, Any]


@dataclass(frozen=True)
class IncidentWrite:
    """The derived fields of an incident, written on insert and on update."""

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
    resolved_by: str | None
    closed_window_end: datetime | None
    summary: str
    details: dict[str, Any]


class IncidentRepository:
    DELETE_FLAGS = """
        DELETE FROM alert_windows
        WHERE model_id = %s AND granularity = %s AND window_start = %s AND reference_key = %s"""
    FLAGGED_SERIES = """
        SELECT kind, subject, condition FROM alert_windows
        WHERE model_id = %s AND granularity = %s AND window_start = %s AND reference_key = %s AND state = 'flagged'"""
    INSERT_FLAG = """
        INSERT INTO alert_windows (model_id, kind, subject, condition, reference_key, granularity, window_start,
                                   window_end, state, severity, message, details)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
    FLAGS = """
        SELECT kind, subject, condition, reference_key, window_start, window_end, state, severity, message, details
        FROM alert_windows
        WHERE model_id = %s AND granularity = %s AND reference_key = %s AND window_start >= %s
        ORDER BY window_start"""
    SERIES_FLAGS = """
        SELECT kind, subject, condition, reference_key, window_start, window_end, state, severity, message, details
        FROM alert_windows
        WHERE model_id = %s AND granularity = %s AND kind = %s AND subject = %s AND condition = %s
          AND reference_key = %s AND state = 'flagged' AND window_start >= %s AND window_start < %s
        ORDER BY window_start"""
    WINDOWS = """
        SELECT window_start, window_end, status FROM drift_windows
        WHERE model_id = %s AND granularity = %s AND window_start >= %s ORDER BY window_start"""
    # Incidents a derivation from `since` may change: those starting at or after it, and those still
    # running at it (open, or closed by a window that ends after it).
    TOUCHED = f"""
        SELECT {INCIDENT_COLUMNS} FROM incidents
        WHERE model_id = %(model)s AND granularity = %(g)s AND reference_key = %(reference)s
          AND (first_window_start >= %(since)s OR status <> 'resolved'
               OR coalesce(closed_window_end, last_window_end) > %(since)s)
        ORDER BY first_window_start, id"""
    SINCE = f"""
        SELECT {INCIDENT_COLUMNS} FROM incidents
        WHERE model_id = %s AND granularity = %s AND reference_key = %s AND first_window_start >= %s
        ORDER BY first_window_start, id"""
    # A reference replaced: what was open against the old one is over.
    STALE = """
        UPDATE incidents SET status = 'resolved', resolved_at = now(), resolved_by = 'auto', updated_at = now()
        WHERE model_id = %s AND reference_key <> %s AND reference_key <> %s AND status <> 'resolved'
        RETURNING id, severity"""
    INSERT = """
        INSERT INTO incidents (model_id, kind, subject, condition, reference_key, granularity, status, severity,
                               peak_severity, first_window_start, last_window_end, windows_flagged, resolved_at,
                               resolved_by, closed_window_end, summary, details)
        VALUES (%(model)s, %(kind)s, %(subject)s, %(condition)s, %(reference_key)s, %(granularity)s, %(status)s,
                %(severity)s, %(peak_severity)s, %(first_window_start)s, %(last_window_end)s, %(windows_flagged)s,
                CASE WHEN %(status)s = 'resolved' THEN now() END, %(resolved_by)s, %(closed_window_end)s,
                %(summary)s, %(details)s)
        RETURNING id"""
    UPDATE = """
        UPDATE incidents SET
            status = %(status)s, severity = %(severity)s, peak_severity = %(peak_severity)s,
            first_window_start = %(first_window_start)s, last_window_end = %(last_window_end)s,
            windows_flagged = %(windows_flagged)s,
            resolved_at = CASE WHEN %(status)s <> 'resolved' THEN NULL ELSE coalesce(resolved_at, now()) END,
            resolved_by = %(resolved_by)s, closed_window_end = %(closed_window_end)s, summary = %(summary)s,
            details = %(details)s, updated_at = now(),
            change = CASE WHEN %(windows_changed)s THEN nextval('drift_change_seq') ELSE change END
        WHERE id = %(id)s"""
    DELETE = "DELETE FROM incidents WHERE id = ANY(%s)"
    ADD_CHANGE = "INSERT INTO incident_changes (incident_id, model_id, change, severity) VALUES (%s, %s, %s, %s)"
    CHANGED = f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE model_id = %s AND change > %s ORDER BY change"
    DELETE_CAUSES = "DELETE FROM incident_causes WHERE incident_id = %s"
    INSERT_CAUSE = """
        INSERT INTO incident_causes (incident_id, rank, feature, segment, score, sentence, details)
        VALUES (%s, %s, %s, %s, %s, %s, %s)"""
    CHANGES_AFTER = """
        SELECT id, incident_id, model_id, change, severity, at FROM incident_changes
        WHERE model_id = %s AND id > %s ORDER BY id LIMIT %s"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    # -- per-window flags ---------------------------------------------------------------------------
    def flagged_series(
        self, model_id: int, reference_key: str, granularity: str, start: datetime
    ) -> set[tuple[str, str, str]]:
        """(kind, subject, condition) of every series the window flags."""
        rows = self.conn.execute(self.FLAGGED_SERIES, (model_id, granularity, start, reference_key)).fetchall()
        return {(r[0], r[1], r[2]) for r in rows}

    def replace_flags(
        self,
        model_id: int,
        reference_key: str,
        granularity: str,
        start: datetime,
        end: datetime,
        flags: list[NewFlag],
    ) -> None:
        """What the window says now, in place of what it said before."""
        self.conn.execute(self.DELETE_FLAGS, (model_id, granularity, start, reference_key))
        with self.conn.cursor() as cur:
            cur.executemany(
                self.INSERT_FLAG,
                [
                    (
                        model_id,
                        f.kind,
                        f.subject,
                        f.condition,
                        reference_key,
                        granularity,
                        start,
                        end,
                        f.state,
                        f.severity,
                        f.message,
                        Jsonb(f.details),
                    )
                    for f in flags
                ],
            )

    def flags(self, model_id: int, granularity: str, reference_key: str, since: datetime) -> list[FlagRow]:
        with self.conn.cursor(row_factory=class_row(FlagRow)) as cur:
            return cur.execute(self.FLAGS, (model_id, granularity, reference_key, since)).fetchall()

    def flagged_windows(self, incident: IncidentRow) -> list[FlagRow]:
        """The flagged windows of an incident, in order."""
        i = incident
        with self.conn.cursor(row_factory=class_row(FlagRow)) as cur:
            return cur.execute(
                self.SERIES_FLAGS,
                (
                    i.model_id,
                    i.granularity,
                    i.kind,
                    i.subject,
                    i.condition,
                    i.reference_key,
                    i.first_window_start,
                    i.last_window_end,
                ),
            ).fetchall()

    def windows(self, model_id: int, granularity: str, since: datetime) -> list[EvaluatedWindow]:
        with self.conn.cursor(row_factory=class_row(EvaluatedWindow)) as cur:
            return cur.execute(self.WINDOWS, (model_id, granularity, since)).fetchall()

    # -- incidents ------------------------------------------------------------------------------------
    def touched(self, model_id: int, granularity: str, reference_key: str, since: datetime) -> list[IncidentRow]:
        with self.conn.cursor(row_factory=class_row(IncidentRow)) as cur:
            return cur.execute(
                self.TOUCHED, {"model": model_id, "g": granularity, "reference": reference_key, "since": since}
            ).fetchall()

    def since(self, model_id: int, granularity: str, reference_key: str, since: datetime) -> list[IncidentRow]:
        with self.conn.cursor(row_factory=class_row(IncidentRow)) as cur:
            return cur.execute(self.SINCE, (model_id, granularity, reference_key, since)).fetchall()

    def resolve_stale(self, model_id: int, reference_key: str, keep_reference: str) -> int:
        """Resolve what is still open against another reference (but `keep_reference`'s); how many."""
        rows = self.conn.execute(self.STALE, (model_id, reference_key, keep_reference)).fetchall()
        for incident_id, severity in rows:
            self.add_change(incident_id, model_id, "resolved", severity)
        return len(rows)

    def insert(self, model_id: int, incident: IncidentWrite) -> int:
        found = self.conn.execute(self.INSERT, self._params(incident) | {"model": model_id}).fetchone()
        assert found is not None  # INSERT ... RETURNING returns the row
        new_id: int = found[0]
        return new_id

    def update(self, incident_id: int, incident: IncidentWrite, windows_changed: bool) -> None:
        self.conn.execute(self.UPDATE, self._params(incident) | {"id": incident_id, "windows_changed": windows_changed})

    def delete(self, incident_ids: list[int]) -> None:
        if incident_ids:
            self.conn.execute(self.DELETE, (incident_ids,))

    def add_change(self, incident_id: int, model_id: int, change: str, severity: str | None) -> None:
        self.conn.execute(self.ADD_CHANGE, (incident_id, model_id, change, severity))

    def changed(self, model_id: int, change: int) -> list[IncidentRow]:
        """Incidents whose windows changed after `change` (the cause step's watermark)."""
        with self.conn.cursor(row_factory=class_row(IncidentRow)) as cur:
            return cur.execute(self.CHANGED, (model_id, change)).fetchall()

    def changes_after(self, model_id: int, change_id: int, limit: int) -> list[IncidentChangeRow]:
        with self.conn.cursor(row_factory=class_row(IncidentChangeRow)) as cur:
            return cur.execute(self.CHANGES_AFTER, (model_id, change_id, limit)).fetchall()

    def save_causes(self, incident_id: int, causes: list[Cause]) -> None:
        self.conn.execute(self.DELETE_CAUSES, (incident_id,))
        with self.conn.cursor() as cur:
            cur.executemany(
                self.INSERT_CAUSE,
                [
                    (incident_id, rank, c.feature, c.segment, c.score, c.sentence, Jsonb(c.details))
                    for rank, c in enumerate(causes, start=1)
                ],
            )

    @staticmethod
    def _params(i: IncidentWrite) -> dict[str, Any]:
        return {
            "kind": i.kind,
            "subject": i.subject,
            "condition": i.condition,
            "reference_key": i.reference_key,
            "granularity": i.granularity,
            "status": i.status,
            "severity": i.severity,
            "peak_severity": i.peak_severity,
            "first_window_start": i.first_window_start,
            "last_window_end": i.last_window_end,
            "windows_flagged": i.windows_flagged,
            "resolved_by": i.resolved_by,
            "closed_window_end": i.closed_window_end,
            "summary": i.summary,
            "details": Jsonb(i.details),
        }
