"""`seia tenant move` to a second PostgreSQL cluster (started under .local/bench-second, stopped after), while
one thread keeps writing to the moving tenant and another to a tenant that stays: rows copied, seconds in all,
seconds the moving tenant's writes were refused (503), and the other tenant's write latency."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time

import psycopg

from bench.common import Timer, percentile, row

ROWS = 100_000
BATCH = 1_000
MODEL = {
    "name": "m",
    "task": "binary_classification",
    "features": [{"name": f"n{i}", "type": "numeric"} for i in range(10)] + [{"name": "c", "type": "categorical"}],
    "labels": ["no", "yes"],
}


def _batch(prefix: str, start: int, n: int) -> bytes:
    return json.dumps(
        {
            "records": [
                {
                    "prediction_id": f"{prefix}{i}",
                    "timestamp": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                    "features": {**{f"n{j}": (i * 7 + j) % 1000 / 10 for j in range(10)}, "c": f"v{i % 12}"},
                    "prediction": "yes" if i % 3 else "no",
                    "score": (i % 100) / 100,
                }
                for i in range(start, start + n)
            ]
        }
    ).encode()


class _Writer(threading.Thread):
    def __init__(self, host, key: str, prefix: str):
        super().__init__(daemon=True)
        self.host, self.prefix = host, prefix
        self.headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        self.stop = threading.Event()
        self.accepted = 0
        self.refused: list[float] = []  # when each 503 came back
        self.latencies: list[tuple[float, float]] = []  # (when, seconds)
        self.unexpected: list[int] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            status, headers, _ = self.host.invoke(
                "POST", "/v1/models/m/predictions", self.headers, _batch(self.prefix, n, 10)
            )
            self.latencies.append((started, time.monotonic() - started))
            if status == 202:
                self.accepted += 10
            elif status == 503 and int(headers.get("Retry-After", "0")) >= 1:
                self.refused.append(time.monotonic())
                time.sleep(0.05)
            else:
                self.unexpected.append(status)
            n += 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(settings) -> None:
    os.environ.setdefault("SEIA_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from psycopg.conninfo import make_conninfo

    from infra.local import postgres
    from infra.local.apihost import ApiHost, default_functions
    from seia.tenancy import TenantAdmin
    from seia.tenancy_move import TenantMove

    base = postgres.LOCAL / "bench-second"
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    dsn = postgres.start_private_cluster(base, _free_port())
    try:
        admin = TenantAdmin(settings)
        admin.add_server("bench-second", dsn)
        host = ApiHost(default_functions())
        keys = {}
        for name in ("moving", "staying"):
            keys[name] = admin.create_tenant(name, "default").api_key
            headers = {"authorization": f"Bearer {keys[name]}", "content-type": "application/json"}
            assert host.invoke("POST", "/v1/models", headers, json.dumps(MODEL).encode())[0] == 201
        headers = {"authorization": f"Bearer {keys['moving']}", "content-type": "application/json"}
        for start in range(0, ROWS, BATCH):
            status, _, body = host.invoke("POST", "/v1/models/m/predictions", headers, _batch("r", start, BATCH))
            assert status == 202, body
        moving, staying = _Writer(host, keys["moving"], "w"), _Writer(host, keys["staying"], "s")
        moving.start()
        staying.start()
        time.sleep(2)
        t = Timer()
        moved_at = time.monotonic()
        report = TenantMove(admin).move("moving", "bench-second")
        done_at = moved_at + t.elapsed
        time.sleep(2)
        for writer in (moving, staying):
            writer.stop.set()
            writer.join()
        db = f"{settings.db_prefix}_t_moving"
        with psycopg.connect(make_conninfo(dsn, dbname=db)) as conn:
            counted = conn.execute("SELECT count(*) FROM predictions").fetchone()
        stored = counted[0] if counted else 0
        before = [s for at, s in staying.latencies if at < moved_at]
        during = [s for at, s in staying.latencies if moved_at <= at <= done_at]
        refused_span = (moving.refused[-1] - moving.refused[0]) if moving.refused else 0.0
        row("rows copied (all tables of the tenant's database)", f"{sum(report.rows.values()):,}")
        row("seconds in all (prepare, copy, verify, switch, drop the old copy)", f"{report.seconds_total:.2f} s")
        row("seconds the moving tenant's writes were paused (cutover)", f"{report.seconds_paused:.2f} s")
        row("its writes answered 503 + Retry-After (first to last)", f"{len(moving.refused)} in {refused_span:.2f} s")
        row("its accepted rows all on the new server", "yes" if stored == ROWS + moving.accepted else "NO")
        row("other tenant's writes: p95 before / during the move", f"{percentile(before, 0.95) * 1000:.0f} / "
            f"{percentile(during, 0.95) * 1000:.0f} ms")  # fmt: skip
        row("unexpected answers (neither 202 nor 503 + Retry-After)", str(len(moving.unexpected + staying.unexpected)))
    finally:
        postgres.stop_private_cluster(base)
        shutil.rmtree(base, ignore_errors=True)
