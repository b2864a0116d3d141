"""Drift tests: the engine as the worker runs it (tenant role, real PostgreSQL), and readers of its tables."""

from __future__ import annotations

import pytest

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


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
        return self.query(
            """
            SELECT a.* FROM drift_alerts a JOIN models m ON m.id = a.model_id WHERE m.name = %s ORDER BY a.id""",
            (model,),
        )

    def causes(self, alert_id: int) -> list[dict]:
        return self.query("SELECT * FROM drift_causes WHERE alert_id = %s ORDER BY rank", (alert_id,))

    def results(self, model: str, feature: str | None = None) -> list[dict]:
        return self.query(
            """
            SELECT r.* FROM drift_results r JOIN models m ON m.id = r.model_id
            WHERE m.name = %s AND (%s::text IS NULL OR r.feature = %s) ORDER BY r.window_start, r.feature""",
            (model, feature, feature),
        )

    def windows(self, model: str) -> list[dict]:
        return self.query(
            """
            SELECT w.* FROM drift_windows w JOIN models m ON m.id = w.model_id WHERE m.name = %s
            ORDER BY w.window_start""",
            (model,),
        )

    def top_cause(self, model: str, kind: str) -> tuple[dict | None, dict | None]:
        """The most severe alert of `kind` and its rank-1 cause."""
        alerts = [a for a in self.alerts(model) if a["kind"] == kind]
        if not alerts:
            return None, None
        alert = sorted(
            alerts, key=lambda a: (SEVERITY_ORDER[a["severity"]], -(a["details"].get("effect_ratio") or 0), a["id"])
        )[0]
        causes = self.causes(alert["id"])
        return alert, (causes[0] if causes else None)

    def snapshot(self, model: str) -> dict:
        """Every derived row of a model, without timestamps of when it was computed."""
        mid = self.model_id(model)
        out = {}
        for table, order in (
            ("drift_sketches", "hour, feature"),
            ("drift_performance_hourly", "hour"),
            ("drift_results", "window_start, feature"),
            ("drift_windows", "window_start"),
            ("drift_alerts", "id"),
            ("drift_features", "feature"),
        ):
            rows = self.query(f"SELECT * FROM {table} WHERE model_id = %s ORDER BY {order}", (mid,))
            out[table] = [
                {k: v for k, v in r.items() if k not in ("change", "computed_at", "id", "created_at", "model_id")}
                for r in rows
            ]
        out["drift_causes"] = self.query(
            """
            SELECT a.kind, a.subject, a.condition, c.rank, c.feature, c.segment, c.score, c.sentence
            FROM drift_causes c JOIN drift_alerts a ON a.id = c.alert_id WHERE a.model_id = %s
            ORDER BY a.kind, a.subject, a.condition, c.rank""",
            (mid,),
        )
        return out


@pytest.fixture(scope="module")
def reader(drift_tenant):
    return Reader(drift_tenant)
