"""What the planner asks a tenant database: which models have work waiting."""

from __future__ import annotations

import psycopg

PENDING = """
    SELECT m.name FROM models m
    LEFT JOIN drift_watermarks wp ON wp.model_id = m.id AND wp.step = 'profile'
    LEFT JOIN drift_watermarks wl ON wl.model_id = m.id AND wl.step = 'labels'
    LEFT JOIN drift_references r ON r.model_id = m.id
    LEFT JOIN reference_versions v ON v.model_id = m.id
    -- segment models (parent_id set) are never planned: each parent's run runs them (docs/segments.md)
    WHERE m.parent_id IS NULL AND (
          EXISTS (SELECT 1 FROM predictions p
                  WHERE p.model_id = m.id AND (p.xid::text)::bigint >= coalesce((wp.xid::text)::bigint, 0))
       OR EXISTS (SELECT 1 FROM ground_truths g
                  WHERE g.model_id = m.id AND g.xid >= coalesce(wl.xid, '0'::xid8))
       OR (v.version IS NOT NULL AND r.reference_key IS DISTINCT FROM 'uploaded:' || v.version)
       -- deliveries, of the model or of its segment models: a retry that is due, or an incident change no
       -- run has seen (a user's resolve)
       OR EXISTS (SELECT 1 FROM models s JOIN deliveries d ON d.model_id = s.id
                  WHERE (s.id = m.id OR s.parent_id = m.id)
                    AND d.status = 'pending' AND d.next_attempt_at <= now())
       OR EXISTS (SELECT 1 FROM models s JOIN incident_changes c ON c.model_id = s.id
                  LEFT JOIN drift_watermarks wn ON wn.model_id = s.id AND wn.step = 'notify'
                  WHERE (s.id = m.id OR s.parent_id = m.id) AND c.id > coalesce(wn.change, 0)))
    ORDER BY m.name"""


class PlanningRepository:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def pending_models(self) -> list[str]:
        return [r[0] for r in self.conn.execute(PENDING)]
