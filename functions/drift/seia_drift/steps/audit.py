"""Audit what an older version stored and today's rules refuse, so that it is seen rather than fatal."""

from __future__ import annotations

import logging
from typing import Any

from seia.timeutil import RANGE_TEXT
from seia_drift.repositories.audit import AuditRepository
from seia_drift.steps.base import Context, Step

log = logging.getLogger(__name__)


class AuditStep(Step):
    """Count prediction rows whose timestamp is out of range (every raw read skips them) and collect the
    model's refused settings and reserved feature names (``ctx.findings``) into one data-quality finding."""

    name = "audit"

    def run(self, ctx: Context) -> dict[str, Any]:
        repo = AuditRepository(ctx.conn)
        skipped = repo.predictions_out_of_range(ctx.model.id)
        problems = list(ctx.findings)
        if skipped:
            problems.insert(0, f"{skipped} prediction rows have a timestamp outside the {RANGE_TEXT}; they are skipped")
        if not problems:
            return {"skipped_rows": 0, "findings": 0}
        message = (
            "Data quality: data stored by an earlier version is refused by today's rules: "
            + "; ".join(problems)
            + ". Fix or delete it (rows), or PUT valid settings."
        )
        changed = repo.record(
            ctx.model.id, ctx.settings.window, message[:2000], {"skipped_rows": skipped, "problems": problems}
        )
        if changed:
            log.warning("model %s: %s", ctx.model.name, message)
        return {"skipped_rows": skipped, "findings": len(problems)}
