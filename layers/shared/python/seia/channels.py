"""Notification channels: where a model's incident changes are delivered (the ``notifications`` setting).

A model's ``notifications`` (else the tenant's default, ``seia tenant notifications T``) is a list of
channels::

    [{"type": "slack", "url": "https://hooks.slack.com/services/..."},
     {"type": "webhook", "url": "https://example.com/seia", "name": "ops"},
     {"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:123456789012:seia-notify-ops"}]

``sns`` without ``topic_arn`` is the deployment's own topic (``SEIA_SNS_TOPIC_ARN``). The old ``webhook_url``
setting still works: it is one more ``webhook`` channel. A channel's key (``type:`` and a hash of its target)
identifies it in the delivery records, so a URL (Slack's carries its token) is never shown back: the API
shows its ``name``, else its type and host.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from seia import egress

TYPES = ("slack", "webhook", "sns")
MAX_CHANNELS = 10
MAX_URL = 2000
MAX_NAME = 64
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_FIELDS = {"slack": {"url"}, "webhook": {"url"}, "sns": {"topic_arn"}}


@dataclass(frozen=True)
class Channel:
    type: str
    target: str  # the URL, or the topic's ARN ('' for the deployment's topic)
    name: str | None = None

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.type}\n{self.target}".encode()).hexdigest()[:16]
        return f"{self.type}:{digest}"

    @property
    def label(self) -> str:
        """What the API and the dashboard show: never a URL's path or query (Slack's token lives there)."""
        if self.name:
            return self.name
        if self.type == "sns":
            return f"sns {self.target.rsplit(':', 1)[-1] if self.target else 'deployment topic'}"
        return f"{self.type} {urlsplit(self.target).hostname}"


def problems(value: Any, resolve: bool = False) -> list[tuple[str, str]]:
    """(field, message) for each refused part of a channel list; fields are ``[i].url`` etc.

    Examples
    --------
    >>> problems([{"type": "sms"}])
    [('[0].type', 'must be one of slack, webhook, sns')]
    >>> problems([{"type": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:seia-ops"}])
    []
    """
    if not isinstance(value, list) or len(value) > MAX_CHANNELS:
        return [("", f"must be a list of at most {MAX_CHANNELS} channels, or null")]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        at = f"[{i}]"
        if not isinstance(item, Mapping):
            out.append((at, 'must be an object such as {"type": "webhook", "url": "https://..."}'))
            continue
        kind = item.get("type")
        if kind not in TYPES:
            out.append((f"{at}.type", f"must be one of {', '.join(TYPES)}"))
            continue
        allowed = _FIELDS[kind] | {"type", "name"}
        out += [
            (f"{at}.{str(k)[:64]}", f"unknown field; use {', '.join(sorted(allowed))}")
            for k in item
            if k not in allowed
        ]
        name = item.get("name")
        if name is not None and not (isinstance(name, str) and 0 < len(name) <= MAX_NAME):
            out.append((f"{at}.name", f"must be a string of 1 to {MAX_NAME} characters"))
        if kind == "sns":
            arn = item.get("topic_arn")
            if arn is not None and not (isinstance(arn, str) and TOPIC_ARN.fullmatch(arn)):
                out.append((f"{at}.topic_arn", "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"))
        else:
            problem = url_problem(item.get("url"), resolve)
            if problem:
                out.append((f"{at}.url", problem))
        if not out:
            key = parse([item])[0].key
            if key in seen:
                out.append((at, "the same channel twice"))
            seen.add(key)
    return out


def url_problem(url: Any, resolve: bool = False) -> str | None:
    """Why `url` cannot receive Seia's requests, or None (see :func:`seia.egress.check_url`)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        return f"must be an https URL of at most {MAX_URL} characters"
    try:
        egress.check_url(url, resolve=resolve)
    except egress.Refused as exc:
        return str(exc)
    return None


def parse(value: Any) -> list[Channel]:
    """Channels of a validated list (invalid items are skipped: the settings check names them)."""
    out = []
    for item in value or []:
        if not isinstance(item, Mapping) or item.get("type") not in TYPES:
            continue
        target = item.get("topic_arn") or "" if item["type"] == "sns" else item.get("url")
        if isinstance(target, str):
            out.append(Channel(item["type"], target, item.get("name")))
    return out


def in_force(model_settings: Mapping[str, Any] | None, tenant_default: Any) -> list[Channel]:
    """A model's channels: its ``notifications`` (else the tenant's default) plus its old ``webhook_url``."""
    settings = model_settings or {}
    chosen = settings.get("notifications")
    channels = parse(chosen if chosen is not None else tenant_default)
    url = settings.get("webhook_url")
    if isinstance(url, str) and url:
        legacy = Channel("webhook", url)
        if legacy.key not in {c.key for c in channels}:
            channels.append(legacy)
    return channels


def redacted(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` as a key without admin scope sees them: webhook and Slack URLs carry their receiver's
    credentials (a Slack incoming-webhook URL *is* the secret), so only their scheme and host are shown.

    >>> redacted({"webhook_url": "https://hooks.example.com/T1/secret", "notifications": [
    ...     {"type": "slack", "url": "https://hooks.slack.com/services/T/B/x"}, {"type": "sns", "topic_arn": "arn:t"}]})
    {'webhook_url': 'https://hooks.example.com/…', 'notifications': [{'type': 'slack', 'url': 'https://hooks.slack.com/…'}, {'type': 'sns', 'topic_arn': 'arn:t'}]}
    """

    def hide(url: Any) -> Any:
        if not isinstance(url, str) or not url:
            return url
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}/…" if parts.scheme else "…"

    out = dict(settings)
    if "webhook_url" in out:
        out["webhook_url"] = hide(out["webhook_url"])
    if isinstance(out.get("notifications"), list):
        out["notifications"] = [
            {**c, "url": hide(c["url"])} if isinstance(c, dict) and "url" in c else c for c in out["notifications"]
        ]
    return out
