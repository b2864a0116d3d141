"""What every step gets: the connection (inside the step's transaction), the model, its settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from seia.schema import Model
from seia_drift.layout import Layout
from seia_drift.repositories.reference import FeatureBins, ReferenceRepository, StoredReference
from seia_drift.repositories.state import StateRepository
from seia_drift.settings import DriftSettings

WINDOW_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass
class Context:
    conn: psycopg.Connection
    model: Model
    settings: DriftSettings
    layout: Layout

    @property
    def state(self) -> StateRepository:
        return StateRepository(self.conn)

    def reference(self) -> tuple[StoredReference | None, dict[str, FeatureBins]]:
        repo = ReferenceRepository(self.conn)
        stored = repo.stored(self.model.id)
        return stored, ({f.feature: f for f in repo.features(self.model.id)} if stored else {})

    def window_end(self, start: datetime) -> datetime:
        return start + WINDOW_LENGTH[self.settings.window]


class Step:
    """One job of the worker. ``run`` executes inside a transaction holding the model's lock and
    returns what it did (logged by the engine)."""

    name = "step"

    def run(self, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError
