"""What every benchmark section shares: an isolated prefix, a tenant, timing helpers."""

from __future__ import annotations

import os
import secrets
import statistics
import time
from contextlib import contextmanager

import psycopg
from psycopg import sql


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values) -> float:
    return statistics.median(values)


@contextmanager
def bench_environment():
    """Own database prefix and secret key for the run; everything is dropped afterwards."""
    prefix = "bn" + secrets.token_hex(3)
    os.environ["SEIA_DB_PREFIX"] = prefix
    os.environ["SEIA_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ["SEIA_CREDENTIALS"] = "derived"
    from seia import config, credentials
    from seia_ingest import service as ingest_service
    from seia_query import service as query_service

    services = (ingest_service.get_service, query_service.get_service)
    config.get_settings.cache_clear()
    credentials._store_for.cache_clear()
    for getter in services:
        getter.cache_clear()
    settings = config.get_settings()
    try:
        yield settings
    finally:
        for getter in services:
            if getter.cache_info().currsize:
                getter().db.close()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            for (db,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",)
            ).fetchall():
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (prefix + "%",)
            ).fetchall():
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


class Timer:
    def __init__(self):
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def row(label: str, value: str, goal: str = "") -> None:
    print(f"  {label:<58} {value:>16}  {goal}", flush=True)
