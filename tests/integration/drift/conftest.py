"""Drift tests: the engine as the worker runs it (tenant role, real PostgreSQL), and readers of its tables."""

from __future__ import annotations

import pytest

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
# Columns that say when (or in which order) a row was written, not what it holds: left out of snapshots.
WRITTEN_AT = ("change", "computed_at", "id", "created_at", "model_id", "opened_at", "updated_at", "resolved_at")


@pytest.fixture(scope="module")
def drift_tenant(tenant_admin):
    """One tenant for a module's many models (creating a database per test costs seconds)."""
    import secrets

    from tests.conftest import TenantHandle

    return TenantHandle(tenant_admin, tenant_admin.create_tenant("d" + secrets.token_hex(4)))


@pytest.fixture(scope="module")
def databases(settings):
    from seia_drift.db import WorkerDatabases

    dbs = WorkerDatabases(settings)
    yield dbs
    dbs.close()


@pytest.fixture(scope="module")
def engine(databases):
    from seia_drift.engine import DriftEngine

    return DriftEngine(databases)


class Reader:
    """What a user (or the query API) would read from a tenant's drift tables."""

    def __init__(self, handle):
        self.handle = handle

    def query(self, text: str, params=()) -> list[dict]:
        from psycopg.rows import dict_row

        with self.handle.connect(row_factory=dict_row) as conn:
            return conn.execute(text, params).fetchall()

    def model_id(self, model: str) -> int:
        return self.query("SELECT id FROM models WHERE name = %s", (model,))[0]["id"]

    def alerts(self, model: str) -> list[dict]:
        """The model's incidents."""
        return self.query(
            """
            SELECT i.* FROM incidents i JOIN models m ON m.id = i.model_id WHERE m.name = %s ORDER BY i.id""",
            (model,),
        )

    def causes(self, incident_id: int) -> list[dict]:
        return self.query("SELECT * FROM incident_causes WHERE incident_id = %s ORDER BY rank", (incident_id,))

    def changes(self, model: str) -> list[tuple[int, str, str]]:
        """(incident id, change, severity) of the model's incident changes, in order."""
        return [
            (r["incident_id"], r["change"], r["severity"])
            for r in self.query(
                """SELECT c.* FROM incident_changes c JOIN models m ON m.id = c.model_id WHERE m.name = %s
                   ORDER BY c.id""",
                (model,),
            )
        ]

    # The engine stores hour and day windows (tenant migration 0011); these read those of the model's
    # evaluation window (settings.window, 'day' by default), which alerts follow.
    def results(self, model: str, feature: str | None = None) -> list[dict]:
        return self.query(
            """
            SELECT r.* FROM drift_results r JOIN models m ON m.id = r.model_id
            WHERE m.name = %s AND (%s::text IS NULL OR r.feature = %s)
              AND r.granularity = coalesce(m.settings->>'window', 'day')
            ORDER BY r.window_start, r.feature""",
            (model, feature, feature),
        )

    def windows(self, model: str) -> list[dict]:
        return self.query(
            """
            SELECT w.* FROM drift_windows w JOIN models m ON m.id = w.model_id WHERE m.name = %s
              AND w.granularity = coalesce(m.settings->>'window', 'day')
            ORDER BY w.window_start""",
            (model,),
        )

    def top_cause(self, model: str, kind: str) -> tuple[dict | None, dict | None]:
        """The most severe incident of `kind` (then the longest) and its rank-1 cause; of performance,
        the realized incidents (an estimated one, ``estimated_<metric>``, names no feature)."""
        alerts = [a for a in self.alerts(model) if a["kind"] == kind and not a["condition"].startswith("estimated_")]
        if not alerts:
            return None, None
        alert = sorted(alerts, key=lambda a: (SEVERITY_ORDER[a["peak_severity"]], -a["windows_flagged"], a["id"]))[0]
        causes = self.causes(alert["id"])
        return alert, (causes[0] if causes else None)

    def snapshot(self, model: str) -> dict:
        """Every derived row of a model, without timestamps of when it was computed."""
        mid = self.model_id(model)
        out = {}
        for table, order in (
            ("drift_sketches", "hour, feature"),
            ("drift_performance_hourly", "hour"),
            ("drift_results", "granularity, window_start, feature"),
            ("drift_windows", "granularity, window_start"),
            ("drift_rollups", "day, feature"),
            ("drift_performance_daily", "day"),
            ("alert_windows", "window_start, kind, subject, condition"),
            ("incidents", "kind, subject, condition, first_window_start"),
            ("drift_features", "feature"),
            ("drift_multivariate_hourly", "hour"),
        ):
            rows = self.query(f"SELECT * FROM {table} WHERE model_id = %s ORDER BY {order}", (mid,))
            out[table] = [{k: _unstamped(k, v) for k, v in r.items() if k not in WRITTEN_AT} for r in rows]
        out["incident_causes"] = self.query(
            """
            SELECT i.kind, i.subject, i.condition, i.first_window_start, c.rank, c.feature, c.segment, c.score,
                   c.sentence
            FROM incident_causes c JOIN incidents i ON i.id = c.incident_id WHERE i.model_id = %s
            ORDER BY i.kind, i.subject, i.condition, i.first_window_start, c.rank""",
            (mid,),
        )
        return out


def _unstamped(key: str, value):
    """A stored window document without the time it was computed."""
    return {k: v for k, v in value.items() if k != "computed_at"} if key == "document" and value else value


@pytest.fixture(scope="module")
def reader(drift_tenant):
    return Reader(drift_tenant)
