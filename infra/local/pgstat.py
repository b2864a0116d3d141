"""How many server connections PostgreSQL has open for a given ``application_name``, sampled while a load runs."""

from __future__ import annotations

import threading

import psycopg


class ConnectionSampler:
    """Counts pg_stat_activity rows of ``application_name`` every ``interval`` seconds; ``peak`` is the most seen."""

    COUNT = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"

    def __init__(self, dsn: str, application_name: str, interval: float = 0.02):
        self.dsn = dsn
        self.application_name = application_name
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(self.COUNT, (self.application_name,)).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)
                self.samples += 1
                self._stop.wait(self.interval)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
