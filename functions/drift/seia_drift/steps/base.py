"""What every step gets: the connection (inside the step's transaction), the model, its settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from seia.db import Tenant
from seia.schema import Model
from seia_drift.layout import Layout
from seia_drift.repositories.reference import FeatureBins, ReferenceRepository, StoredReference
from seia_drift.repositories.sources import Rows
from seia_drift.repositories.state import StateRepository, Watermark
from seia_drift.settings import DriftSettings

WINDOW_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass
class Context:
    conn: psycopg.Connection
    model: Model
    settings: DriftSettings
    layout: Layout
    # What of the model's stored definition today's rules refuse (see seia.legacy); the audit step reports it.
    findings: tuple[str, ...] = ()
    tenant: Tenant | None = None
    # The tenant's webhook signing secret, looked up only when a webhook is sent (None: it has none).
    signing_secret: Callable[[], str | None] = lambda: None
    # A segment model's raw rows (its parent's, of its value); None: the model's own.
    segment_rows: Rows | None = None

    @property
    def rows(self) -> Rows:
        """The model's raw rows: what every read of predictions, labels and reference rows selects."""
        return self.segment_rows or Rows(self.model.id)

    @property
    def state(self) -> StateRepository:
        return StateRepository(self.conn)

    def reference(self) -> tuple[StoredReference | None, dict[str, FeatureBins]]:
        repo = ReferenceRepository(self.conn)
        stored = repo.stored(self.model.id)
        if stored is None:
            return None, {}
        # a removed feature's bins stay until the next reference, but it is no longer judged
        profiled = {s.feature for s in self.layout.slots}
        return stored, {f.feature: f for f in repo.features(self.model.id) if f.feature in profiled}

    def window_end(self, start: datetime) -> datetime:
        return start + WINDOW_LENGTH[self.settings.window]


class Step:
    """One job of the worker. ``run`` executes inside a transaction holding the model's lock and
    returns what it did (logged by the engine)."""

    name = "step"

    def run(self, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError


class WindowStep(Step):
    """A step that recomputes every evaluation window whose hourly inputs changed since its watermark.

    ``changed_windows`` names the windows and the change number they were read up to; ``window``
    computes and saves one. The watermark moves only after the last window is saved, in the step's
    transaction, so a run that fails half way recomputes those windows rather than skipping them.
    """

    # The name, in the step's report, of what ``window`` returns, summed over the windows.
    tally: str

    def changed_windows(self, ctx: Context, change: int) -> tuple[list[datetime], int]:
        raise NotImplementedError

    def window(self, ctx: Context, bins: dict[str, FeatureBins], start: datetime, end: datetime) -> int:
        raise NotImplementedError

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        mark = ctx.state.get(ctx.model.id, self.name)
        windows, change = self.changed_windows(ctx, mark.change)
        total = sum(self.window(ctx, bins, start, ctx.window_end(start)) for start in windows)
        ctx.state.set(ctx.model.id, self.name, Watermark(change=change))
        return {"windows": len(windows), self.tally: total}
