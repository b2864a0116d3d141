"""Tenant migration 0005: the per-window alerts a tenant has become incidents (one per run of consecutive
alerts of a series), acknowledgements become columns, causes and undelivered alerts carry over."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

ALERT = """
    INSERT INTO drift_alerts (model_id, granularity, window_start, kind, subject, condition, severity, message,
                              details, reference_key, status, notified_at)
    VALUES (%s, 'day', %s::timestamptz, %s, %s, 'distribution', %s, %s, %s::jsonb, 'uploaded:1', %s, %s)
    RETURNING id"""


@pytest.fixture
def old_database(settings):
    """A scratch database at tenant migration 0004, the state before incidents."""
    from seia.migrate import load

    name = f"{settings.db_prefix}_mig0005"
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = psycopg.conninfo.make_conninfo(settings.database_url, dbname=name)
    with psycopg.connect(dsn) as conn:
        for m in load("tenant"):
            if m.version < 5:
                conn.execute(m.sql)
        conn.commit()
    yield dsn, [m for m in load("tenant") if m.version == 5][0]
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_existing_alerts_become_one_incident_per_episode_with_acknowledgement_and_causes(old_database):
    dsn, migration = old_database
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        model = conn.execute(
            "INSERT INTO models (name, task, features) VALUES ('m', 'regression', '[]') RETURNING id"
        ).fetchone()["id"]
        ack = '{"acknowledgement": {"at": "2026-03-05T10:00:00+00:00", "note": "on it"}}'
        ids = [
            # x1: days 1, 2, 4 (one episode: gaps of at most three windows), then day 20 (a new one)
            conn.execute(ALERT, (model, "2026-03-01", "feature_drift", "x1", "low", "m1", "{}", "open", None)),
            conn.execute(ALERT, (model, "2026-03-02", "feature_drift", "x1", "high", "m2", ack, "acknowledged", None)),
            conn.execute(ALERT, (model, "2026-03-04", "feature_drift", "x1", "medium", "m4", "{}", "open", None)),
            conn.execute(ALERT, (model, "2026-03-20", "feature_drift", "x1", "low", "m20", "{}", "open", "2026-03-21")),
            conn.execute(ALERT, (model, "2026-03-01", "feature_drift", "x2", "low", "x2", "{}", "open", "2026-03-02")),
        ]
        ids = [c.fetchone()["id"] for c in ids]
        conn.execute(
            "INSERT INTO drift_causes (alert_id, rank, feature, score, sentence) VALUES (%s, 1, 'x1', 0.5, 'because')",
            (ids[0],),
        )
        conn.execute(migration.sql)
        incidents = conn.execute(
            """SELECT subject, status, severity, peak_severity, first_window_start::date::text AS first,
                      last_window_end::date::text AS last, windows_flagged, acknowledged_at IS NOT NULL AS acked,
                      acknowledged_note, summary, id
               FROM incidents ORDER BY subject, first_window_start"""
        ).fetchall()
        assert [
            (i["subject"], i["status"], i["severity"], i["peak_severity"], i["first"], i["last"], i["windows_flagged"])
            for i in incidents
        ] == [
            ("x1", "acknowledged", "medium", "high", "2026-03-01", "2026-03-05", 3),
            ("x1", "open", "low", "low", "2026-03-20", "2026-03-21", 1),
            ("x2", "open", "low", "low", "2026-03-01", "2026-03-02", 1),
        ]
        assert incidents[0]["acknowledged_note"] == "on it" and incidents[0]["summary"] == "m4"
        assert conn.execute("SELECT incident_id, sentence FROM incident_causes").fetchall() == [
            {"incident_id": incidents[0]["id"], "sentence": "because"}
        ]
        # the undelivered first episode of x1 is to be delivered; the two delivered ones are not
        assert conn.execute("SELECT incident_id, change FROM incident_changes").fetchall() == [
            {"incident_id": incidents[0]["id"], "change": "opened"}
        ]
        assert conn.execute("SELECT count(*) AS n FROM alert_windows WHERE state = 'flagged'").fetchone()["n"] == 5
