"""The local gateway's throttling: the limits of template.yaml, enforced as API Gateway enforces them.

API Gateway keeps a token bucket per API key of the usage plan (``KeyRateLimit`` requests per second,
``KeyBurstLimit`` at once) and one for the whole stage (``StageRateLimit``, ``StageBurstLimit``), and
answers 429 when a bucket is empty. Locally the key is the bearer token itself (a bucket per SHA-256 of it,
as the authorizer maps each Seia key to one usage-plan key); a request without one is counted by the stage
bucket only (in AWS the authorizer refuses it before any function runs).

Each function also runs at most its ``ReservedConcurrentExecutions`` requests at once, as Lambda would; one
more is answered 429 (template.yaml maps API Gateway's INTEGRATION_FAILURE, where Lambda's throttling lands,
to the same 429).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from seia import auth

# Buckets idle long enough to be full again are forgotten past this many keys (a flood of random keys
# must not grow the gateway's memory without end).
MAX_TRACKED_KEYS = 10_000


@dataclass(frozen=True)
class Limits:
    key_rate: float
    key_burst: int
    stage_rate: float
    stage_burst: int
    concurrency: dict[str, int] = field(default_factory=dict)  # function -> reserved concurrency

    @classmethod
    def from_template(cls, template: dict | None = None) -> Limits:
        from infra.local.template import load

        template = template or load()
        params = template["Parameters"]
        functions = {
            name: res["Properties"]
            for name, res in template["Resources"].items()
            if res["Type"] == "AWS::Serverless::Function"
        }
        return cls(
            key_rate=float(params["KeyRateLimit"]["Default"]),
            key_burst=int(params["KeyBurstLimit"]["Default"]),
            stage_rate=float(params["StageRateLimit"]["Default"]),
            stage_burst=int(params["StageBurstLimit"]["Default"]),
            concurrency={
                name: int(props["ReservedConcurrentExecutions"])
                for name, props in functions.items()
                if "ReservedConcurrentExecutions" in props
            },
        )


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second; a request takes one."""

    def __init__(self, rate: float, burst: int, now: float):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def give_back(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1)

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.burst


class Throttle:
    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._stage = TokenBucket(limits.stage_rate, limits.stage_burst, clock())
        self._keys: dict[bytes, TokenBucket] = {}
        self._running = {name: threading.BoundedSemaphore(n) for name, n in limits.concurrency.items()}

    def enter(self, function: str) -> bool:
        """Take one of ``function``'s concurrent executions (False: all are busy); :meth:`leave` gives it back."""
        slots = self._running.get(function)
        return slots is None or slots.acquire(blocking=False)

    def leave(self, function: str) -> None:
        slots = self._running.get(function)
        if slots is not None:
            slots.release()

    def admit(self, headers: dict) -> int | None:
        """None when the request may go on, else the whole seconds to wait (``Retry-After``)."""
        key = _bearer(headers)
        with self._lock:
            now = self._clock()
            bucket = None
            if key is not None:
                bucket = self._keys.get(key)
                if bucket is None:
                    self._forget_idle(now)
                    bucket = self._keys[key] = TokenBucket(self.limits.key_rate, self.limits.key_burst, now)
                wait = bucket.take(now)
                if wait:
                    return max(1, math.ceil(wait))
            wait = self._stage.take(now)
            if wait:
                if bucket is not None:  # the key did not get its request through: its token is not spent
                    bucket.give_back()
                return max(1, math.ceil(wait))
        return None

    def _forget_idle(self, now: float) -> None:
        if len(self._keys) >= MAX_TRACKED_KEYS:
            self._keys = {k: b for k, b in self._keys.items() if not b.full(now)}


def _bearer(headers: dict) -> bytes | None:
    header = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return auth.hash_key(token.strip())
