"""Load: several tenants send prediction batches at once over real HTTP for a fixed time.

Zero 5xx; every accepted row stored exactly once, re-sent batches counted as duplicates; p50/p95 printed.
"""

from __future__ import annotations

import http.client
import json
import random
import statistics
import threading
import time

from tests.reliability.conftest import count, say
from tests.support import data
from tests.support.live import serving

DURATION_S = 15
TENANTS = 4
THREADS_PER_TENANT = 2
RESEND_EVERY = 5  # every 5th request re-sends a batch already accepted


def _batch(prefix: str, n: int) -> list[dict]:
    out = []
    for i in range(n):
        rec = data.prediction(i)
        rec["prediction_id"] = f"{prefix}-{i}"
        out.append(rec)
    return out


def test_sustained_batches_from_several_tenants(make_tenant, api):
    tenants = [make_tenant() for _ in range(TENANTS)]
    for t in tenants:
        assert api.post("/v1/models", t.api_key, json=data.model()).status == 201
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent = {t.name: {"records": 0, "accepted": 0, "duplicates": 0, "resent_records": 0, "ids": set()} for t in tenants}
    errors: list[str] = []

    with serving() as url:
        port = int(url.rsplit(":", 1)[1])
        stop_at = time.monotonic() + DURATION_S

        def client(tenant, worker: int) -> None:
            rng = random.Random(f"{tenant.name}-{worker}")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {"Authorization": f"Bearer {tenant.api_key}", "Content-Type": "application/json"}
            done: list[bytes] = []
            number = 0
            while time.monotonic() < stop_at:
                number += 1
                resend = done and number % RESEND_EVERY == 0
                if resend:
                    body = rng.choice(done)
                else:
                    batch = _batch(f"{worker}-{number}", rng.randint(200, 1000))
                    body = json.dumps({"records": batch}).encode()
                n = body.count(b'"prediction_id"')
                started = time.perf_counter()
                try:
                    conn.request("POST", "/v1/models/churn/predictions", body=body, headers=headers)
                    reply = conn.getresponse()
                    payload = reply.read()
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[reply.status] = statuses.get(reply.status, 0) + 1
                    s = sent[tenant.name]
                    if reply.status == 202:
                        result = json.loads(payload)
                        s["accepted"] += result["accepted"]
                        s["duplicates"] += result["duplicates"]
                        s["records"] += n
                        if resend:
                            s["resent_records"] += n
                            if result != {"accepted": 0, "duplicates": n}:
                                errors.append(f"re-sent batch answered {result}")
                        else:
                            if result != {"accepted": n, "duplicates": 0}:
                                errors.append(f"new batch answered {result}")
                            done.append(body)
                    else:
                        errors.append(f"HTTP {reply.status}: {payload[:200]!r}")
            conn.close()

        threads = [threading.Thread(target=client, args=(t, w)) for t in tenants for w in range(THREADS_PER_TENANT)]
        started = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join(DURATION_S + 120)
        wall = time.monotonic() - started

    requests = len(latencies)
    q = statistics.quantiles(latencies, n=100)
    rows_sent = sum(s["records"] for s in sent.values())
    say(
        f"load: {TENANTS} tenants x {THREADS_PER_TENANT} clients for {DURATION_S}s (wall {wall:.1f}s), "
        f"batches of 200-1000, every {RESEND_EVERY}th request a re-sent batch"
    )
    say(
        f"load: {requests} requests ({requests / wall:.1f}/s), statuses {statuses}, "
        f"{rows_sent} records sent ({rows_sent / wall:.0f}/s)"
    )
    say(f"load: latency p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    for t in tenants:
        s = sent[t.name]
        in_db = count(t)
        say(
            f"load: tenant {t.name}: sent {s['records']} (re-sent {s['resent_records']}), accepted {s['accepted']}, "
            f"duplicates {s['duplicates']}, rows in its database {in_db}"
        )
        assert in_db == s["accepted"], "lost or doubled rows"
        assert s["duplicates"] == s["resent_records"]
        assert s["accepted"] + s["duplicates"] == s["records"]
    assert not errors, errors[:5]
    assert set(statuses) == {202}
    assert requests > 20
