"""Send each incident change to the model's webhook (settings.webhook_url) as JSON."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from seia.repositories.incidents import IncidentReadRepository
from seia_drift.repositories.incidents import IncidentRepository
from seia_drift.repositories.state import Watermark
from seia_drift.steps.base import Context, Step

log = logging.getLogger(__name__)
TRIES_PER_RUN = 3
BACKOFF_S = (0.2, 0.5)  # between tries within a run
TIMEOUT_S = 3.0
MAX_ALERTS_PER_RUN = 50


def post_json(
    url: str, payload: dict[str, Any], tries: int = TRIES_PER_RUN, backoff: tuple[float, ...] = BACKOFF_S
) -> str | None:
    """POST with bounded retries; None on a 2xx, else the last error (never raises)."""
    body = json.dumps(payload, default=str).encode()
    error = None
    for attempt in range(tries):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "seia-drift"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                if 200 <= response.status < 300:
                    return None
                error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            error = type(exc).__name__
        if attempt + 1 < tries:
            time.sleep(backoff[min(attempt, len(backoff) - 1)])
    return error


class NotifyStep(Step):
    """Incident changes (opened, escalated, resolved) not yet delivered → one POST each, in order. A
    failing endpoint stops the run's deliveries (the rest wait for the next run) and never fails the
    worker. Delivery is at least once: a crash between the POST and its commit sends that change again."""

    name = "notify"

    def run(self, ctx: Context) -> dict[str, Any]:
        url = ctx.settings.webhook_url
        if not url:
            return {"webhook": None}
        repo, reads = IncidentRepository(ctx.conn), IncidentReadRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        sent = failed = 0
        for change in repo.changes_after(ctx.model.id, mark.change, MAX_ALERTS_PER_RUN):
            incident = reads.get(ctx.model.id, change.incident_id)
            assert incident is not None  # a change is deleted with its incident
            payload = {
                "incident_id": incident.id,
                "change": change.change,
                "model": ctx.model.name,
                "kind": incident.kind,
                "subject": incident.subject,
                "condition": incident.condition,
                "severity": change.severity,
                "status": incident.status,
                "summary": incident.summary,
                "first_window_start": incident.first_window_start.isoformat(),
                "last_window_end": incident.last_window_end.isoformat(),
                "windows_flagged": incident.windows_flagged,
                "reference": incident.reference_key,
                "causes": [
                    {
                        "rank": c.rank,
                        "feature": c.feature,
                        "segment": c.segment,
                        "score": c.score,
                        "sentence": c.sentence,
                    }
                    for c in reads.causes([incident.id]).get(incident.id, [])
                ],
            }
            error = post_json(url, payload)
            if error is not None:
                failed += 1
                log.warning("webhook of model %s: %s", ctx.model.name, error)
                # the endpoint is down: leave the rest for the next run rather than wait on each
                break
            ctx.state.set(ctx.model.id, self.name, Watermark(change=change.id))
            sent += 1
        # host only: the URL's path or query may carry a token
        return {"webhook": urlsplit(url).hostname, "sent": sent, "failed": failed}
