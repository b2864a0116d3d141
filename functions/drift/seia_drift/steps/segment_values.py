"""Which values of each segment field the engine follows, each as a segment model (docs/segments.md)."""

from __future__ import annotations

from typing import Any

from seia.segment_rows import OTHER, segment_fields, split
from seia_drift.repositories.reference import ReferenceRepository
from seia_drift.repositories.segment_models import SegmentModelRepository
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import Context, Step


class SegmentValuesStep(Step):
    """Run for a parent model after its own steps: follow the ``segment_top_values`` most frequent values of
    each segment field in its reference, then fill the free places with new values as they first appear in
    its rows (most frequent first). A followed value keeps its segment model for good (its history stays
    readable); every other value, and a missing one, is ``<field>:other``. The segment models' definition is
    the parent's, copied again here (a PATCH of the parent reaches them).

    New rows are those of transactions in ``[watermark, horizon)``, as for the profile step. A new reference
    resets the watermark (the reference step resets every watermark of the model): its top values are
    followed if places remain, and every row is read again.
    """

    name = "segment_values"

    def run(self, ctx: Context) -> dict[str, Any]:
        fields = segment_fields(ctx.model)
        if not fields:
            return {"skipped": "no segments declared"}
        stored = ReferenceRepository(ctx.conn).stored(ctx.model.id)
        if stored is None:
            return {"skipped": "no reference yet"}
        repo = SegmentModelRepository(ctx.conn)
        synced = repo.sync(ctx.model.id)
        followed: dict[str, set[str]] = {f: set() for f in fields}
        for child in repo.children(ctx.model.id):
            field, value = split(child.segment or "")
            if value != OTHER and field in followed:
                followed[field].add(value)
        mark = ctx.state.get(ctx.model.id, self.name)
        horizon = ctx.state.horizon()
        found = []
        if mark.xid == 0:  # first run, or a new reference: its most frequent values first
            if stored.source == "uploaded":
                found += repo.reference_values(ctx.model.id)
            elif stored.window_start is not None and stored.window_end is not None:
                found += repo.window_values(ctx.model.id, stored.window_start, stored.window_end)
        found += repo.new_values(ctx.model.id, mark.xid, horizon)
        limit = ctx.settings.segment_top_values  # validated by the registry (1-100, default 20)
        new = [f"{field}:{OTHER}" for field in fields]  # ON CONFLICT: only the missing ones are added
        for slot, value, _ in found:
            if not 1 <= slot <= len(fields) or value == OTHER:
                continue  # a slot no field declares (never written), or a value named like the group
            values = followed[fields[slot - 1]]
            if value not in values and len(values) < limit:
                values.add(value)
                new.append(f"{fields[slot - 1]}:{value}")
        repo.follow(ctx.model.id, new)
        ctx.state.set(ctx.model.id, self.name, Watermark(xid=horizon))
        return {"followed": sum(len(v) for v in followed.values()), "added": len(new) - len(fields), "synced": synced}
