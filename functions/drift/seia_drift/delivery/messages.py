"""The message a run sends to one channel: Seia's JSON (webhook, SNS) or a Slack incoming-webhook body.

Slack refuses a body over its documented limits (at most 50 blocks; a section's text at most 3,000 characters,
a header's at most 150; a message's text is cut at 40,000) and, in practice, blocks totalling much over 12,000
characters (``msg_blocks_too_long``): :func:`slack` shows the first changes in full, the rest as a count, and
cuts every text safely (never inside a ``<link|label>`` or an escape).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from seia_drift.repositories.deliveries import ChangeRow

SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
SLACK_MAX_HEADER = 150
SLACK_MAX_TEXT = 3000  # the notification's text (Slack's cut is 40,000; a preview needs far less)
SLACK_MAX_TOTAL = 12_000  # characters of all blocks together
SLACK_SHOWN = 20  # changes shown one by one; the rest are counted
SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2}
MAX_SENTENCE = 500  # a summary or cause in Seia's JSON: a long category name cannot bloat a message
SNS_MAX_BYTES = 250_000  # SNS refuses messages over 256 KB (the JSON and the e-mail text together)
VERB = {"opened": "Opened", "escalated": "Escalated", "resolved": "Resolved"}


@dataclass(frozen=True)
class Batch:
    """What one message says: the changes of a model for one channel."""

    tenant: str
    model: str
    changes: Sequence[ChangeRow]
    dashboard: str | None  # the dashboard's base URL (SEIA_DASHBOARD_URL), or None
    channel_key: str

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at the same changes on the same channel: receivers drop repeats by it."""
        ids = ",".join(str(c.id) for c in self.changes)
        text = f"{self.tenant}\n{self.model}\n{self.channel_key}\n{ids}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def severity(self) -> str:
        return max((c.severity for c in self.changes), key=lambda s: SEVERITY_ORDER.get(s, 0), default="low")

    def link(self, change: ChangeRow) -> str | None:
        if not self.dashboard:
            return None
        return f"{self.dashboard.rstrip('/')}#/models/{quote(self.model)}/alerts/{change.incident_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def seia_json(batch: Batch, sent_at: datetime) -> dict[str, Any]:
    """Seia's own body (the OpenAPI document's ``webhooks.incident_changes``)."""
    return {
        "type": "incident_changes",
        "id": batch.idempotency_key,
        "tenant": batch.tenant,
        "model": batch.model,
        "sent_at": sent_at.isoformat(),
        "changes": [
            {
                "change_id": c.id,
                "change": c.change,
                "severity": c.severity,
                "at": _iso(c.at),
                "incident": {
                    "id": c.incident_id,
                    "kind": c.kind,
                    "subject": c.subject,
                    "condition": c.condition,
                    "granularity": c.granularity,
                    "status": c.status,
                    "peak_severity": c.peak_severity,
                    "first_window_start": _iso(c.first_window_start),
                    "last_window_end": _iso(c.last_window_end),
                    "windows_flagged": c.windows_flagged,
                    "segment": c.segment,
                    "summary": _cut(c.summary, MAX_SENTENCE) if c.summary else None,
                    "top_cause": _cut(c.cause, MAX_SENTENCE) if c.cause else None,
                    "url": batch.link(c),
                },
            }
            for c in batch.changes
        ],
    }


def headline(batch: Batch) -> str:
    """One line: how many changes of which model (Slack's header and text, SNS's subject)."""
    n = len(batch.changes)
    if n == 1:
        c = batch.changes[0]
        return (
            f"{VERB.get(c.change, c.change)} [{c.severity}] {c.kind.replace('_', ' ')} on {c.subject} "
            f"({batch.model}{', ' + c.segment if c.segment else ''})"
        )
    return f"{n} incident changes on {batch.model} (up to {batch.severity})"


def _escape(text: str) -> str:
    """Slack's three control characters (mrkdwn and plain text alike)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending with … when cut, never inside an &escape;."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _change_text(batch: Batch, c: ChangeRow) -> str:
    title = (
        f"*{VERB.get(c.change, c.change)}* · {c.severity} · {c.kind.replace('_', ' ')} on `{c.subject}` ({c.condition})"
    )
    lines = [_cut(_escape(title), 600)]
    if c.cause:
        lines.append(_cut(_escape(c.cause), 1500))
    elif c.summary:
        lines.append(_cut(_escape(c.summary), 1500))
    link = batch.link(c)
    if link and len(link) <= 800:  # a cut link would be a broken one
        lines.append(f"<{_escape(link)}|Incident #{c.incident_id} in the dashboard>")
    return "\n".join(lines)  # 600 + 1500 + 850 characters at most: within a section's 3,000


def slack(batch: Batch) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (the notification) plus ``blocks``."""
    title = headline(batch)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, SLACK_MAX_HEADER)}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": _cut(_escape(f"Seia · tenant {batch.tenant} · model {batch.model}"), 300)}
            ],
        },
    ]
    total = sum(len(str(b)) for b in blocks)
    shown = 0
    for c in batch.changes[:SLACK_SHOWN]:
        text = _change_text(batch, c)
        if total + len(text) > SLACK_MAX_TOTAL or len(blocks) >= SLACK_MAX_BLOCKS - 1:
            break
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        total += len(text)
        shown += 1
    rest = len(batch.changes) - shown
    if rest:
        more = f"… and {rest} more change{'s' if rest > 1 else ''}"
        if batch.dashboard:
            more += f": <{_escape(batch.dashboard)}|see the dashboard>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    lines = [title] + [
        f"{VERB.get(c.change, c.change)} [{c.severity}] {c.kind.replace('_', ' ')} on {c.subject}"
        for c in batch.changes[:shown]
    ]
    if rest:
        lines.append(f"… and {rest} more")
    return {"text": _cut(_escape("\n".join(lines)), SLACK_MAX_TEXT), "blocks": blocks}


def sns_subject(batch: Batch) -> str:
    """SNS subjects: at most 100 characters of printable ASCII, no line break."""
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in "Seia: " + headline(batch))
    return text[:97] + "..." if len(text) > 100 else text


def plain_text(batch: Batch) -> str:
    """The e-mail and SMS form of a batch."""
    lines = [headline(batch), ""]
    for c in batch.changes:
        lines.append(f"- {VERB.get(c.change, c.change)} [{c.severity}] {c.kind} on {c.subject} ({c.condition})")
        if c.cause:
            lines.append(f"  {_cut(c.cause, MAX_SENTENCE)}")
        link = batch.link(c)
        if link:
            lines.append(f"  {link}")
    return "\n".join(lines)


def sns_message(batch: Batch, sent_at: datetime) -> str:
    """SNS's ``MessageStructure=json`` body: the JSON for queues, Lambda and HTTPS subscribers, text for e-mail and SMS."""
    return json.dumps(
        {
            "default": json.dumps(seia_json(batch, sent_at), ensure_ascii=False),
            "email": plain_text(batch),
            "sms": headline(batch)[:140],
        }
    )


def fit_sns(batch: Batch, sent_at: datetime) -> Batch:
    """The batch's first changes whose SNS message stays under :data:`SNS_MAX_BYTES`; the rest wait for a later run."""
    while len(batch.changes) > 1 and len(sns_message(batch, sent_at).encode()) > SNS_MAX_BYTES:
        batch = replace(batch, changes=batch.changes[: max(1, len(batch.changes) * 2 // 3)])
    return batch
