"""Segment models (docs/segments.md): the derived models that follow each value of a model's segment fields.

A segment model is a ``models`` row with ``parent_id`` = its parent and ``segment`` = ``'<field>:<value>'`` or
``'<field>:other'`` (tenant migration 0013). Its definition is its parent's, copied here at each run, so a PATCH
of the parent reaches it; it has no rows of its own (:class:`seia.segment_rows.Rows`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import psycopg

from seia.repositories.models import ModelRepository
from seia.schema import Model


class SegmentModelRepository:
    FOLLOW = """
        INSERT INTO models (name, task, features, labels, settings, parent_id, segment)
        SELECT m.name || '/' || %(segment)s, m.task, m.features, m.labels, '{}'::jsonb, m.id, %(segment)s
        FROM models m WHERE m.id = %(parent)s
        ON CONFLICT DO NOTHING"""
    # The parent's definition (a PATCH adds or removes features) reaches its segment models.
    SYNC = """
        UPDATE models s SET task = m.task, features = m.features, labels = m.labels
        FROM models m
        WHERE m.id = %s AND s.parent_id = m.id
          AND (s.task, s.features, s.labels) IS DISTINCT FROM (m.task, m.features, m.labels)"""
    # Per segment slot and value: rows, most frequent first. Of the uploaded reference, of a first window, or of
    # the rows written by transactions in [lo, hi).
    _COUNT = """
        SELECT u.i::int, u.v, count(*) FROM {table} r, unnest(r.seg) WITH ORDINALITY AS u(v, i)
        WHERE r.model_id = %(model)s AND u.v IS NOT NULL {where}
        GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"""
    REFERENCE_VALUES = _COUNT.format(table="reference_rows", where="")
    WINDOW_VALUES = _COUNT.format(table="predictions", where="AND r.ts >= %(start)s AND r.ts < %(end)s")
    NEW_VALUES = _COUNT.format(
        table="predictions",
        where="AND (r.xid::text)::bigint >= %(lo)s::bigint AND (r.xid::text)::bigint < %(hi)s::bigint",
    )

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def children(self, parent_id: int) -> list[Model]:
        """The parent's segment models, as stored (their definition is the parent's once synced)."""
        return ModelRepository(self.conn).segment_models(parent_id)

    def follow(self, parent_id: int, segments: Iterable[str]) -> None:
        for segment in segments:
            self.conn.execute(self.FOLLOW, {"parent": parent_id, "segment": segment})

    def sync(self, parent_id: int) -> int:
        return self.conn.execute(self.SYNC, (parent_id,)).rowcount

    def reference_values(self, parent_id: int) -> list[tuple[int, str, int]]:
        """(slot, value, rows) of the uploaded reference's rows, most frequent first per slot."""
        return self.conn.execute(self.REFERENCE_VALUES, {"model": parent_id}).fetchall()

    def window_values(self, parent_id: int, start: datetime, end: datetime) -> list[tuple[int, str, int]]:
        return self.conn.execute(self.WINDOW_VALUES, {"model": parent_id, "start": start, "end": end}).fetchall()

    def new_values(self, parent_id: int, lo: int, hi: int) -> list[tuple[int, str, int]]:
        return self.conn.execute(self.NEW_VALUES, {"model": parent_id, "lo": str(lo), "hi": str(hi)}).fetchall()
