"""Query figures: server-side time of ``GET /v1/models/{model}/drift`` over 90 days of hourly sketches.

A binary model with 26 features (20 numeric, 6 categorical; 29 profiled columns with the score,
the predicted label and the label) gets 90 days of drift tables written directly with COPY, in the
engine's formats: reference edges (512-quantile grid) and sketches, one sketch per hour and column,
and day results computed from them. The same shapes are written for a second model with 10x the
rows per hour: sketches do not grow with rows, so the route's time should not either.

Timed: the query function's handler (Chalice app, API Gateway event, warm process), in-process.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Timer, median, percentile, row

DAYS = 90
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

    from seia import stats
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
            text = json.dumps(sketch).replace("\\", "\\\\")
            buffer.write(
                f"{model_id}\t{(START + timedelta(hours=h)).isoformat()}\t{feature}\t"
                f"{n + sketch['missing']}\t{sketch['missing']}\t{text}\n"
            )
    with conn.cursor().copy("COPY drift_sketches (model_id, hour, feature, rows, missing, sketch) FROM STDIN") as copy:
        copy.write(buffer.getvalue())
    # The engine's day results (statistics and verdicts as the drift step stores them).
    thresholds = stats.Thresholds()
    results, windows = [], []
    for d in range(DAYS):
        start = START + timedelta(days=d)
        merged: dict[str, stats.NumericSketch | stats.CategoricalSketch] = {}
        refs: dict[str, stats.NumericSketch | stats.CategoricalSketch] = {}
        for feature, per_hour in hourly.items():
            day = per_hour[d * 24 : (d + 1) * 24]
            kind, _, edges, ref = bins[feature]
            if kind == "numeric":
                merged[feature], refs[feature] = stats.merge_dicts(day, edges), stats.merge_dicts([ref], edges)
            else:
                merged[feature] = stats.merge_categorical_dicts(day)
                refs[feature] = stats.merge_categorical_dicts([ref])
        drifts = {f: stats.column_drift(refs[f], cur) for f, cur in merged.items()}
        verdicts = stats.judge_window(drifts, thresholds)
        for f, v in verdicts.items():
            stat_values = {
                k: (None if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))) else x)
                for k, x in stats.drift_statistics(drifts[f], refs[f], merged[f]).items()
            }
            results.append(
                (
                    model_id,
                    "day",
                    start,
                    f,
                    bins[f][0],
                    drifts[f].rows_cur,
                    stat_values["missing_rate_cur"],
                    v.verdict,
                    v.severity,
                    list(v.signals),
                    v.driver,
                    None if v.effect_ratio != v.effect_ratio else v.effect_ratio,
                    Jsonb(stat_values),
                )
            )
        windows.append(
            (
                model_id,
                "day",
                start,
                start + timedelta(days=1),
                24 * rows_per_hour,
                "ok",
                sum(v.verdict == "drift" for v in verdicts.values()),
            )
        )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO drift_results (model_id, granularity, window_start, feature, kind, rows, missing_rate, "
            "verdict, severity, signals, driver, effect_ratio, statistics) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            results,
        )
        cur.executemany(
            "INSERT INTO drift_windows (model_id, granularity, window_start, window_end, rows, status, "
            "drifted_features) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            windows,
        )
    # As autovacuum would have by the time anyone looks: planner statistics of the new rows.
    for table in ("drift_features", "drift_sketches", "drift_results", "drift_windows", "drift_references"):
        conn.execute(f"ANALYZE {table}")
    return hours * len(hourly)


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
    last_day = (START + timedelta(days=DAYS - 1)).isoformat().replace("+00:00", "Z")
    week = (START + timedelta(days=DAYS - 7)).isoformat().replace("+00:00", "Z")
    requests = [
        ("granularity=day, 90 days (stored results)", "granularity=day", 40),
        ("granularity=hour, limit=24 (last day, from sketches)", f"granularity=hour&limit=24&from={last_day}", 20),
        ("granularity=range, last 7 days (168 h of sketches)", f"granularity=range&from={week}", 10),
        ("granularity=range, 90 days (2,160 h of sketches)", "granularity=range", 3),
    ]
    for label, query_string, rounds in requests:
        for name in seeded:
            times, body = _time(query_app.app, headers, name, query_string, rounds)
            goal = "goal p95 < 50 ms" if "stored" in label else ""
            row(f"{label}, {name}: p50", f"{median(times) * 1000:.1f} ms")
            row(
                f"{label}, {name}: p95 of {rounds}",
                f"{percentile(times, 0.95) * 1000:.1f} ms",
                f"{len(body['windows'])} windows; {goal}",
            )
