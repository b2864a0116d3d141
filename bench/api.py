"""Foundation figures: handler time for a 1,000-record batch, import time of the handler modules,
and the storage cost of typed rows against one JSONB document per row."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.common import Timer, median, percentile, row

FEATURES = [{"name": f"n{i}", "type": "numeric"} for i in range(20)] + [
    {"name": f"c{i}", "type": "categorical"} for i in range(5)
]


def _records(start: int, n: int) -> list[dict]:
    out = []
    for i in range(start, start + n):
        feats: dict[str, float | str] = {f"n{j}": (i * 7 + j) % 1000 / 10 for j in range(20)}
        feats.update({f"c{j}": f"v{(i + j) % 12}" for j in range(5)})
        out.append(
            {
                "prediction_id": f"r{i}",
                "timestamp": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                "features": feats,
                "prediction": "yes" if i % 3 else "no",
                "score": (i % 100) / 100,
            }
        )
    return out


def handler_time(settings, rounds: int = 30) -> None:
    # The handler still builds its log line and its metrics document; only their lines (two per batch,
    # on stderr) would bury the figures.
    os.environ.setdefault("SEIA_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    import ingest_app

    from infra.local.events import LambdaContext, api_gateway_event
    from seia.tenancy import TenantAdmin

    created = TenantAdmin(settings).create_tenant("bench")
    headers = {"authorization": f"Bearer {created.api_key}", "content-type": "application/json"}
    model = {"name": "m", "task": "binary_classification", "features": FEATURES, "labels": ["no", "yes"]}
    event = api_gateway_event("POST", "/v1/models", headers, json.dumps(model), resource="/v1/models")
    assert ingest_app.app(event, LambdaContext())["statusCode"] == 201

    times = []
    for r in range(rounds + 2):
        body = json.dumps({"records": _records(r * 1000, 1000)})
        event = api_gateway_event(
            "POST",
            "/v1/models/m/predictions",
            headers,
            body,
            resource="/v1/models/{model}/predictions",
            path_parameters={"model": "m"},
        )
        t = Timer()
        response = ingest_app.app(event, LambdaContext())
        elapsed = t.elapsed
        assert response["statusCode"] == 202, response["body"]
        if r >= 2:  # the first two warm the pool and the staging table, as a warm Lambda would be
            times.append(elapsed)
    med = median(times)
    row("handler time, 1,000-record batch (median)", f"{med * 1000:.1f} ms", "goal < 100 ms")
    row("handler time, 1,000-record batch (p95)", f"{percentile(times, 0.95) * 1000:.1f} ms")
    row("records/s through one warm handler (median batch)", f"{1000 / med:,.0f}")


def import_times(runs: int = 7) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    for module in ("ingest_app", "query_app"):
        code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
        samples = [
            float(
                subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
            )
            for _ in range(runs)
        ]
        row(
            f"import {module} in a fresh process (median of {runs})",
            f"{median(samples) * 1000:.0f} ms",
            "goal < 250 ms",
        )


def storage(settings, n: int = 100_000) -> None:
    """Bytes per row: the typed layout we use against one JSONB document per row."""
    import psycopg

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE typed (id text, ts timestamptz, num float8[], cat text[], p text, s float8)")
        conn.execute("CREATE TEMP TABLE doc (id text, body jsonb)")
        conn.execute(
            """
            INSERT INTO typed SELECT 'r' || g, now(), (SELECT array_agg(random() * 1000) FROM generate_series(1, 20) WHERE g > 0),
                   (SELECT array_agg('v' || (random() * 12)::int) FROM generate_series(1, 5) WHERE g > 0), 'yes', random()
            FROM generate_series(1, %s) g""",
            (n,),
        )
        conn.execute("""
            INSERT INTO doc SELECT id, jsonb_build_object('prediction_id', id, 'timestamp', ts, 'prediction', p, 'score', s,
                   'features', (SELECT jsonb_object_agg('n' || i, num[i]) FROM generate_series(1, 20) i)
                             || (SELECT jsonb_object_agg('c' || i, cat[i]) FROM generate_series(1, 5) i))
            FROM typed""")
        found = conn.execute("SELECT pg_total_relation_size('typed')").fetchone()
        assert found is not None  # the query always returns one row
        typed = found[0]
        found = conn.execute("SELECT pg_total_relation_size('doc')").fetchone()
        assert found is not None  # the query always returns one row
        doc = found[0]
    row(f"storage, {n:,} rows x 25 features: typed rows", f"{typed / n:.0f} B/row")
    row(
        f"storage, {n:,} rows x 25 features: one JSONB per row",
        f"{doc / n:.0f} B/row",
        f"JSONB / typed = {doc / typed:.2f}x",
    )
