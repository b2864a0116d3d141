"""Deliver the model's incident changes (opened, escalated, resolved) to its notification channels.

The channels are the model's ``notifications`` setting, else the tenant's default, plus the old ``webhook_url``
(:mod:`seia.channels`). Each change of incident_changes is enqueued once per channel in force when it is first
seen (``deliveries``); a run then sends at most one message per channel, listing every pending change. A failed
message is retried on later runs with exponential backoff (the channel waits as a whole), up to MAX_ATTEMPTS;
each send has bounded timeouts, so a dead receiver costs a run seconds, never the run itself.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from seia import channels
from seia.repositories.deliveries import TenantSettingsRepository
from seia_drift.delivery import send
from seia_drift.delivery.messages import Batch, fit_sns
from seia_drift.repositories.deliveries import DeliveryWork
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import Context, Step

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8  # over runs: then the delivery is 'failed' (about 4 hours after the first try)
BACKOFF_BASE_S = 60.0  # 1, 2, 4, ... minutes between runs' attempts
BACKOFF_CAP_S = 3600.0
# Changes one message carries (the rest wait for the next run); SNS messages must stay under 256 KB.
MAX_CHANGES = {"slack": 1000, "webhook": 1000, "sns": 1000}
DASHBOARD_ENV = "SEIA_DASHBOARD_URL"


class NotifyStep(Step):
    name = "notify"

    def run(self, ctx: Context) -> dict[str, Any]:
        work = DeliveryWork(ctx.conn)
        in_force = channels.in_force(
            {"notifications": ctx.settings.notifications, "webhook_url": ctx.settings.webhook_url},
            TenantSettingsRepository(ctx.conn).get("notifications"),
        )
        mark = ctx.state.get(ctx.model.id, self.name)
        new = work.new_changes(ctx.model.id, mark.change)
        for channel in in_force:
            work.enqueue(ctx.model.id, channel, [c.id for c in new])
        if new and new[-1].id > mark.change:
            ctx.state.set(ctx.model.id, self.name, Watermark(change=new[-1].id))
        dropped = work.drop_removed(ctx.model.id, in_force)
        tenant = ctx.tenant.name if ctx.tenant else ""
        # a segment model's changes are its parent's to the user (its incidents are listed under the parent, and
        # each change names its segment); a parent's name holds no '/'
        model_name = ctx.model.name.partition("/")[0] if ctx.model.parent_id is not None else ctx.model.name
        sent = failed = messages = 0
        waiting = []
        for channel in in_force:
            if work.waiting_until(ctx.model.id, channel) is not None:
                waiting.append(channel.label)
                continue
            pending = work.pending(ctx.model.id, channel, MAX_CHANGES[channel.type])
            if not pending:
                continue
            batch = Batch(tenant, model_name, pending, os.environ.get(DASHBOARD_ENV) or None, channel.key)
            if channel.type == "sns":
                batch = fit_sns(batch, datetime.now(UTC))
            error, seconds = send.send(channel, batch, ctx.signing_secret)
            messages += 1
            ids = [c.id for c in batch.changes]
            if error is None:
                work.mark_sent(ctx.model.id, channel, ids)
                sent += len(ids)
            else:
                work.mark_failed(ctx.model.id, channel, ids, error, MAX_ATTEMPTS, BACKOFF_BASE_S, BACKOFF_CAP_S)
                failed += 1
                # the label, never the URL: a Slack URL carries its token
                log.warning("delivery to %s failed (%s) after %.1f s; retried later", channel.label, error, seconds)
        return {
            "channels": len(in_force),
            "new_changes": sum(c.id > mark.change for c in new),
            "messages": messages,
            "sent": sent,
            "failed": failed,
            "waiting": len(waiting),
            "dropped": dropped,
        }
