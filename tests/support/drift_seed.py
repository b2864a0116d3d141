"""A tenant with real drift results: seeded scenarios (tests/support/scenarios.py) run through the engine."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from tests.support import scenarios


def recent(data: scenarios.ScenarioData, days_ago: int = 2) -> scenarios.ScenarioData:
    """The scenario with its window moved to the UTC day `days_ago` before today (for --since 7d)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    delta = today - timedelta(days=days_ago) - scenarios.WINDOW_DAY
    moved = [(row[0], row[1] + delta, *row[2:]) for row in data.predictions]
    return dataclasses.replace(data, predictions=moved)


def seed(settings, tenant, models: dict[str, scenarios.ScenarioData]) -> dict:
    """Load each scenario as a model of `tenant`, then run the drift engine over each; returns the reports."""
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    with tenant.connect() as conn:
        for name, data in models.items():
            scenarios.load(conn, name, data)
    databases = WorkerDatabases(settings)
    try:
        engine = DriftEngine(databases)
        return {name: engine.run(tenant.tenant, name) for name in models}
    finally:
        databases.close()
