"""Back-pressure: one key sends 100 parallel 10,000-record batches while another tenant reads.

Over real HTTP through the local gateway with template.yaml's limits, in a process of its own as ``make up``
runs it: every batch is answered 202 or 429 (never 5xx), and the quiet tenant's read p95 is printed beside
its idle baseline. Batches that get a 429 are not retried here (the client would back off and retry).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

from bench.common import Timer, percentile, row

BATCHES = 100
RECORDS = 10_000
READ_EVERY_S = 0.6  # the quiet tenant's pace: under its own key's rate (2/s)
MODEL = {
    "name": "churn",
    "task": "binary_classification",
    "features": [
        {"name": "age", "type": "numeric"},
        {"name": "income", "type": "numeric"},
        {"name": "plan", "type": "categorical"},
    ],
    "labels": ["stay", "churn"],
}


def _body(batch: int) -> bytes:
    records = [
        {
            "prediction_id": f"b{batch}-{i}",
            "timestamp": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "features": {"age": 20 + i % 50, "income": 1000.0 * (i % 90), "plan": ("free", "pro", "team")[i % 3]},
            "prediction": "churn" if i % 4 == 0 else "stay",
            "score": (i % 100) / 100,
        }
        for i in range(RECORDS)
    ]
    return json.dumps({"records": records}).encode()


def _request(port: int, method: str, path: str, key: str, body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Reader(threading.Thread):
    """The quiet tenant: one read every READ_EVERY_S until stopped; keeps each latency and status."""

    def __init__(self, port: int, key: str):
        super().__init__(daemon=True)
        self.port, self.key = port, key
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t = Timer()
            status = _request(self.port, "GET", "/v1/models/churn/stats", self.key)
            self.latencies.append(t.elapsed)
            self.statuses[status] += 1
            self.stop.wait(max(0.0, READ_EVERY_S - t.elapsed))


def _quiet_reads(port: int, key: str, seconds: float) -> Reader:
    reader = Reader(port, key)
    reader.start()
    reader.stop.wait(seconds)
    reader.stop.set()
    reader.join()
    return reader


def _gateway() -> tuple[subprocess.Popen, int]:
    """``python -m infra.local.apihost`` (template.yaml's limits) on a free port, once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SEIA_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.apihost", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the local gateway did not start")


def measure(settings) -> None:
    from infra.local.throttle import Limits
    from seia.tenancy import TenantAdmin

    limits = Limits.from_template()
    admin = TenantAdmin(settings)
    loud, quiet = admin.create_tenant("loud"), admin.create_tenant("quiet")
    server, port = _gateway()
    try:
        for created in (loud, quiet):
            assert _request(port, "POST", "/v1/models", created.api_key, json.dumps(MODEL).encode()) == 201
        small = json.dumps({"records": json.loads(_body(0))["records"][:500]}).encode()
        assert _request(port, "POST", "/v1/models/churn/predictions", quiet.api_key, small) == 202

        idle = _quiet_reads(port, quiet.api_key, 12)
        bodies = [_body(b) for b in range(BATCHES)]  # ready before the clock starts
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        start = threading.Barrier(BATCHES + 1)

        def send(b: int) -> None:
            start.wait()
            status = _request(port, "POST", "/v1/models/churn/predictions", loud.api_key, bodies[b])
            with lock:
                statuses[status] += 1

        senders = [threading.Thread(target=send, args=(b,)) for b in range(BATCHES)]
        for sender in senders:
            sender.start()
        reader = Reader(port, quiet.api_key)
        reader.start()
        clock = Timer()
        start.wait()
        for sender in senders:
            sender.join()
        load_s = clock.elapsed
        reader.stop.wait(1.0)  # and a second after
        reader.stop.set()
        reader.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    row(
        "limits (template.yaml)",
        f"{limits.key_rate:g}/s, burst {limits.key_burst}",
        f"per key; stage {limits.stage_rate:g}/s, burst {limits.stage_burst}",
    )
    fivexx = sum(n for s, n in statuses.items() if s >= 500)
    other = sum(n for s, n in statuses.items() if s not in (202, 429) and s < 500)
    row(
        f"{BATCHES} parallel {RECORDS:,}-record batches, one key: 202 / 429 / 5xx",
        f"{statuses[202]} / {statuses[429]} / {fivexx}",
        f"other {other}; all answered in {load_s:.1f} s; goal: 5xx = 0",
    )
    row(
        "other tenant's reads (GET .../stats), p95: idle -> under load",
        f"{percentile(idle.latencies, 0.95) * 1000:.0f} -> {percentile(reader.latencies, 0.95) * 1000:.0f} ms",
        f"{len(idle.latencies)} / {len(reader.latencies)} reads; statuses under load {dict(reader.statuses)}",
    )
