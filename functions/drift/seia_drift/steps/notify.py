"""Send each new alert to the model's webhook (settings.webhook_url) as JSON."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from seia_drift.repositories.alerts import AlertRepository
from seia_drift.steps.base import Context, Step

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # over runs; then the alert stays unnotified (notify_error says why)
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
    """Alerts not yet delivered → one POST each. A failing endpoint is recorded on the alert, retried
    on later runs (at most MAX_ATTEMPTS), and never fails the worker. Delivery is at least once: a
    crash between the POST and its commit sends that alert again."""

    name = "notify"

    def run(self, ctx: Context) -> dict[str, Any]:
        url = ctx.settings.webhook_url
        if not url:
            return {"webhook": None}
        alerts = AlertRepository(ctx.conn)
        sent = failed = 0
        for alert in alerts.unnotified(ctx.model.id, MAX_ATTEMPTS)[:MAX_ALERTS_PER_RUN]:
            payload = {
                "alert_id": alert.id,
                "model": ctx.model.name,
                "kind": alert.kind,
                "subject": alert.subject,
                "condition": alert.condition,
                "severity": alert.severity,
                "message": alert.message,
                "granularity": alert.granularity,
                "window_start": alert.window_start.isoformat(),
                "status": alert.status,
                "reference": alert.reference_key,
                "causes": [
                    {"rank": i, "feature": c.feature, "segment": c.segment, "score": c.score, "sentence": c.sentence}
                    for i, c in enumerate(alerts.causes(alert.id), start=1)
                ],
            }
            error = post_json(url, payload)
            if error is None:
                alerts.mark_notified(alert.id)
                sent += 1
            else:
                alerts.mark_failed(alert.id, error)
                failed += 1
                # the endpoint is down: leave the rest for the next run rather than wait on each
                break
        # host only: the URL's path or query may carry a token
        return {"webhook": urlsplit(url).hostname, "sent": sent, "failed": failed}
