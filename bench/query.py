"""Query figures: server-side time of ``GET /v1/models/{model}/drift`` over 90 days of history.

A binary model with 26 features (20 numeric, 6 categorical; 29 profiled columns with the score,
the predicted label and the label) gets 90 days of hourly sketches written directly with COPY, in the
engine's formats (reference edges on a 512-quantile grid, sketches stored packed), then the engine's
drift step stores what the query API reads: hour and day windows and the daily rollups. The same shapes
are written for a second model with 10x the rows per hour: sketches do not grow with rows, so the
route's time should not either. For a range over a year, a copy of each model has 365 days of rollups
(its 90 days repeated).

Timed: the query function's handler (Chalice app, API Gateway event, warm process), in-process.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Timer, median, percentile, row

DAYS = 90
YEAR = 365
NUMERIC, CATEGORICAL = 20, 6
START = datetime(2026, 8, 1, tzinfo=UTC)
CATEGORIES = [f"v{i}" for i in range(12)]


def _model_definition(name: str) -> dict:
    features = [{"name": f"n{i}", "type": "numeric"} for i in range(NUMERIC)]
    features += [{"name": f"c{i}", "type": "categorical"} for i in range(CATEGORICAL)]
    return {"name": name, "task": "binary_classification", "labels": ["no", "yes"], "features": features}


def _columns():
    """(feature, kind, source) of every profiled column."""
    cols = [(f"n{i}", "numeric", "feature") for i in range(NUMERIC)] + [("__score__", "numeric", "score")]
    cols += [(f"c{i}", "categorical", "feature") for i in range(CATEGORICAL)]
    return cols + [("__prediction__", "categorical", "prediction"), ("__label__", "categorical", "label")]


def _seed(conn, model_id: int, rows_per_hour: int, seed: int) -> int:
    """Write the drift tables of one model; returns the number of hourly sketches."""
    import numpy as np
    from psycopg.types.json import Jsonb

    from seia.sparse import pack_sketch
    from seia_drift.stats import CategoricalSketch, fit_edges, sketch_values

    rng = np.random.default_rng(seed)
    hours = DAYS * 24
    conn.execute(
        "INSERT INTO drift_references (model_id, reference_key, source, rows, labeled) "
        "VALUES (%s, 'uploaded:1', 'uploaded', 20000, 20000)",
        (model_id,),
    )
    bins: dict[str, tuple[Any, ...]] = {}
    hourly: dict[str, list[Any]] = {}
    for feature, kind, source in _columns():
        if kind == "numeric":
            ref_values = rng.normal(0, 1, 20000) if source == "feature" else rng.beta(2, 5, 20000)
            edges = fit_edges(ref_values)
            ref = sketch_values(ref_values, edges)
            # Each hour: the reference shape, slowly drifting for a few features.
            drift = 0.5 if feature in ("n0", "n1") else 0.0
            per_hour = []
            for h in range(hours):
                values = (
                    rng.normal(drift * h / hours, 1, rows_per_hour)
                    if source == "feature"
                    else rng.beta(2, 5, rows_per_hour)
                )
                per_hour.append(sketch_values(values, edges).to_dict(include_edges=False))
            bins[feature] = (kind, source, list(edges), ref.to_dict(include_edges=False))
        else:
            names = CATEGORIES if source == "feature" else ["no", "yes"]
            p = rng.dirichlet(np.ones(len(names)) * 5)
            cref = CategoricalSketch(dict(zip(names, rng.multinomial(20000, p).tolist())))
            counts = rng.multinomial(rows_per_hour, p, size=hours)
            per_hour = [CategoricalSketch(dict(zip(names, c.tolist()))).to_dict() for c in counts]
            bins[feature] = (kind, source, None, cref.to_dict())
        hourly[feature] = per_hour
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO drift_features (model_id, feature, kind, source, position, edges, segments, reference) "
            "VALUES (%s, %s, %s, %s, %s, %s, NULL, %s)",
            [(model_id, f, k, s, i + 1, e, Jsonb(r)) for i, (f, (k, s, e, r)) in enumerate(bins.items())],
        )
    buffer = io.StringIO()
    for feature, per_hour in hourly.items():
        for h, sketch in enumerate(per_hour):
            n = sum(sketch["counts"].values()) if isinstance(sketch["counts"], dict) else sum(sketch["counts"])
            text = json.dumps(pack_sketch(sketch)).replace("\\", "\\\\")
            buffer.write(
                f"{model_id}\t{(START + timedelta(hours=h)).isoformat()}\t{feature}\t"
                f"{n + sketch['missing']}\t{sketch['missing']}\t{text}\n"
            )
    with conn.cursor().copy("COPY drift_sketches (model_id, hour, feature, rows, missing, sketch) FROM STDIN") as copy:
        copy.write(buffer.getvalue())
    # The engine's drift step over the seeded hours: hour and day windows with their documents, and
    # the daily rollups, as the worker stores them (tenant migration 0011).
    _drift_step(conn, model_id)
    # As autovacuum would have by the time anyone looks: planner statistics of the new rows.
    for table in (
        "drift_features",
        "drift_sketches",
        "drift_results",
        "drift_windows",
        "drift_references",
        "drift_rollups",
    ):
        conn.execute(f"ANALYZE {table}")
    return hours * len(hourly)


def _drift_step(conn, model_id: int) -> None:
    from seia.repositories.models import ModelRepository
    from seia_drift.layout import layout
    from seia_drift.settings import DriftSettings
    from seia_drift.steps import DriftStep
    from seia_drift.steps.base import Context

    model = next(m for m in ModelRepository(conn).all() if m.id == model_id)
    with conn.transaction():
        DriftStep().run(Context(conn, model, DriftSettings.from_model(model.settings), layout(model)))


def _year_copy(conn, source_id: int, model_id: int) -> None:
    """A year of daily rollups for ``model_id``: the reference and features of ``source_id``, its 90
    days' rollups repeated over 365 days (their sizes are what a range query's time depends on)."""
    conn.execute(
        "INSERT INTO drift_references (model_id, reference_key, source, rows, labeled) "
        "SELECT %s, reference_key, source, rows, labeled FROM drift_references WHERE model_id = %s",
        (model_id, source_id),
    )
    conn.execute(
        "INSERT INTO drift_features (model_id, feature, kind, source, position, edges, segments, reference) "
        "SELECT %s, feature, kind, source, position, edges, segments, reference FROM drift_features "
        "WHERE model_id = %s",
        (model_id, source_id),
    )
    for k in range(-(-YEAR // DAYS)):
        conn.execute(
            "INSERT INTO drift_rollups (model_id, day, feature, kind, rows, missing, n, mean, m2, lo, hi, counts, "
            "categories) SELECT %s, day + %s * interval '1 day', feature, kind, rows, missing, n, mean, m2, lo, hi, "
            "counts, categories FROM drift_rollups WHERE model_id = %s AND day + %s * interval '1 day' < %s",
            (model_id, k * DAYS, source_id, k * DAYS, START + timedelta(days=YEAR)),
        )
    conn.execute("ANALYZE drift_rollups")


def _time(app, headers, model: str, query: str, rounds: int) -> tuple[list[float], dict]:
    from urllib.parse import quote

    from infra.local.events import LambdaContext, api_gateway_event

    url = f"/v1/models/{model}/drift?" + "&".join(
        f"{k}={quote(v, safe='')}" for k, v in (p.split("=", 1) for p in query.split("&"))
    )
    times: list[float] = []
    body: Any = None
    for r in range(rounds + 1):
        event = api_gateway_event(
            "GET", url, headers, None, resource="/v1/models/{model}/drift", path_parameters={"model": model}
        )
        t = Timer()
        response = app(event, LambdaContext())
        elapsed = t.elapsed
        assert response["statusCode"] == 200, response["body"]
        body = json.loads(response["body"])
        if r:  # the first call warms the pool, as a warm Lambda would be
            times.append(elapsed)
    return times, body


def query(settings) -> None:
    import ingest_app
    import query_app

    from infra.local.events import LambdaContext, api_gateway_event
    from seia.db import superuser_connect
    from seia.tenancy import TenantAdmin

    created = TenantAdmin(settings).create_tenant("benchq")
    headers = {"authorization": f"Bearer {created.api_key}", "content-type": "application/json"}
    seeded: dict[str, Any] = {}
    for name, rows_per_hour in (("m1x", 100), ("m10x", 1000)):
        event = api_gateway_event(
            "POST", "/v1/models", headers, json.dumps(_model_definition(name)), resource="/v1/models"
        )
        assert ingest_app.app(event, LambdaContext())["statusCode"] == 201
        t = Timer()
        with superuser_connect(settings, created.tenant.db_name) as conn:
            found = conn.execute("SELECT id FROM models WHERE name = %s", (name,)).fetchone()
            assert found is not None  # the query always returns one row
            model_id = found[0]
            sketches = _seed(conn, model_id, rows_per_hour, seed=len(seeded))
            conn.commit()
            found = conn.execute("SELECT pg_total_relation_size('drift_sketches')").fetchone()
            assert found is not None  # the query always returns one row
            size = found[0]
        seeded[name] = rows_per_hour
        row(
            f"seeded {name}: {DAYS} d x 24 h x 29 columns, {rows_per_hour * 24 * DAYS:,} rows",
            f"{sketches:,} sketches",
            f"{t.elapsed:.0f} s, drift_sketches {size / 2**20:.0f} MiB so far",
        )
    for name in list(seeded):
        event = api_gateway_event(
            "POST", "/v1/models", headers, json.dumps(_model_definition(name + "-year")), resource="/v1/models"
        )
        assert ingest_app.app(event, LambdaContext())["statusCode"] == 201
        with superuser_connect(settings, created.tenant.db_name) as conn:
            ids: dict[str, int] = dict(conn.execute("SELECT name, id FROM models").fetchall())
            _year_copy(conn, ids[name], ids[name + "-year"])
            conn.commit()
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    end = START + timedelta(days=DAYS)
    last_day, week = iso(end - timedelta(days=1)), iso(end - timedelta(days=7))
    # a range not on day boundaries: whole days from their rollups, the hours at both edges from sketches
    quarter = f"granularity=range&from={iso(START + timedelta(hours=5))}&to={iso(end - timedelta(hours=3))}"
    year = f"granularity=range&from={iso(START)}&to={iso(START + timedelta(days=YEAR))}"
    requests = [
        ("granularity=day, no from/to: the latest 90 days (stored)", "granularity=day", 40, "", "< 50 ms"),
        ("granularity=hour, no from/to: the latest 100 hours (stored)", "granularity=hour", 40, "", "< 50 ms"),
        ("granularity=hour, limit=24, from the last day (stored)", f"granularity=hour&limit=24&from={last_day}", 40,
         "", "< 50 ms"),
        ("granularity=range, last 7 days (7 daily rollups)", f"granularity=range&from={week}", 20, "", ""),
        ("granularity=range, 90 days less 8 h (88 rollups + 40 h of sketches)", quarter, 20, "", "< 200 ms"),
        ("granularity=range, 365 days (365 rollups)", year, 10, "-year", "< 1 s"),
    ]  # fmt: skip
    for label, query_string, rounds, suffix, goal in requests:
        for name in seeded:
            times, body = _time(query_app.app, headers, name + suffix, query_string, rounds)
            row(f"{label}, {name}: p50", f"{median(times) * 1000:.1f} ms")
            row(
                f"{label}, {name}: p95 of {rounds}",
                f"{percentile(times, 0.95) * 1000:.1f} ms",
                f"{len(body['windows'])} windows" + (f"; goal p95 {goal}" if goal else ""),
            )
