"""The notify step's SQL: incident changes to deliver, and their delivery state per channel (``deliveries``).

Reads the incidents developer's tables (migration 0005: ``incidents``, ``incident_causes``,
``incident_changes``) and nothing else of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from seia.channels import Channel


@dataclass(frozen=True)
class ChangeRow:
    """An incident change with what a message says about its incident."""

    id: int
    incident_id: int
    change: str
    severity: str
    at: datetime
    kind: str
    subject: str
    condition: str
    granularity: str
    status: str
    peak_severity: str
    first_window_start: datetime
    last_window_end: datetime
    windows_flagged: int
    summary: str | None
    cause: str | None  # the top cause's sentence
    attempts: int = 0
    segment: str | None = None  # the incident's segment ('region:eu'), None for the model-wide one


_CHANGE_COLUMNS = """
    c.id, c.incident_id, c.change, coalesce(c.severity, i.severity) AS severity, c.at, i.kind, i.subject, i.condition, i.granularity, i.status,
    i.peak_severity, i.first_window_start, i.last_window_end, i.windows_flagged, i.summary,
    (SELECT k.sentence FROM incident_causes k WHERE k.incident_id = i.id ORDER BY k.rank LIMIT 1) AS cause,
    (SELECT s.segment FROM models s WHERE s.id = i.model_id) AS segment"""


class DeliveryWork:
    # After the watermark, plus the last hour's: a user's resolve (the API's own transaction) may commit a
    # smaller id after a run has moved past it, and a channel added now still hears of the last hour.
    NEW_CHANGES = f"""
        SELECT {_CHANGE_COLUMNS}
        FROM incident_changes c JOIN incidents i ON i.id = c.incident_id
        WHERE c.model_id = %s AND (c.id > %s OR c.at > now() - interval '1 hour') ORDER BY c.id"""
    ENQUEUE = """
        INSERT INTO deliveries (change_id, model_id, channel, channel_type, channel_label)
        SELECT change_id, %s, %s, %s, %s FROM unnest(%s::bigint[]) AS change_id
        ON CONFLICT (change_id, channel) DO NOTHING"""
    # A channel backs off as a whole: while any of its pending deliveries waits, nothing of it is sent.
    WAITING = """
        SELECT min(next_attempt_at) FROM deliveries
        WHERE model_id = %s AND channel = %s AND status = 'pending' AND next_attempt_at > now()"""
    PENDING = f"""
        SELECT {_CHANGE_COLUMNS}, d.attempts
        FROM deliveries d JOIN incident_changes c ON c.id = d.change_id JOIN incidents i ON i.id = c.incident_id
        WHERE d.model_id = %s AND d.channel = %s AND d.status = 'pending'
        ORDER BY c.id LIMIT %s"""
    SENT = """
        UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = now(), last_error = NULL
        WHERE model_id = %s AND channel = %s AND change_id = ANY(%s)"""
    # Exponential backoff over runs: base · 2^(attempts-1), capped; past max_attempts the delivery has failed.
    FAILED = """
        UPDATE deliveries
           SET attempts = attempts + 1, last_error = %s,
               status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE 'pending' END,
               next_attempt_at = now() + least(%s * power(2, attempts), %s) * interval '1 second'
        WHERE model_id = %s AND channel = %s AND change_id = ANY(%s)"""
    DROP_REMOVED = """
        UPDATE deliveries SET status = 'dropped', last_error = 'the channel is no longer in the settings'
        WHERE model_id = %s AND status = 'pending' AND channel <> ALL(%s)"""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def new_changes(self, model_id: int, after: int) -> list[ChangeRow]:
        with self.conn.cursor(row_factory=class_row(ChangeRow)) as cur:
            return cur.execute(self.NEW_CHANGES, (model_id, after)).fetchall()

    def enqueue(self, model_id: int, channel: Channel, change_ids: Sequence[int]) -> None:
        self.conn.execute(self.ENQUEUE, (model_id, channel.key, channel.type, channel.label, list(change_ids)))

    def waiting_until(self, model_id: int, channel: Channel) -> datetime | None:
        row = self.conn.execute(self.WAITING, (model_id, channel.key)).fetchone()
        return row[0] if row else None

    def pending(self, model_id: int, channel: Channel, limit: int) -> list[ChangeRow]:
        with self.conn.cursor(row_factory=class_row(ChangeRow)) as cur:
            return cur.execute(self.PENDING, (model_id, channel.key, limit)).fetchall()

    def mark_sent(self, model_id: int, channel: Channel, change_ids: Sequence[int]) -> None:
        self.conn.execute(self.SENT, (model_id, channel.key, list(change_ids)))

    def mark_failed(
        self,
        model_id: int,
        channel: Channel,
        change_ids: Sequence[int],
        error: str,
        max_attempts: int,
        base_s: float,
        cap_s: float,
    ) -> None:
        self.conn.execute(
            self.FAILED, (error[:500], max_attempts, base_s, cap_s, model_id, channel.key, list(change_ids))
        )

    def drop_removed(self, model_id: int, active: Sequence[Channel]) -> int:
        return self.conn.execute(self.DROP_REMOVED, (model_id, [c.key for c in active])).rowcount
