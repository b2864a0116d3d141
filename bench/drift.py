"""Drift engine figures: 100k reference rows against 1M new rows (21 numeric + 5 categorical
features, cardinalities 5, 50, 1,000, 10 and 20), from rows in PostgreSQL to stored results.

The engine runs in a child process (as the worker Lambda would, and so that its peak RSS is its
own); the in-memory floor is numpy computing the same hourly histograms from the same rows already
in memory. ``python -m bench.drift --rows 10000000`` measures 10M rows (slow to load: minutes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys

from bench.common import Timer, row

N_NUMERIC = 21
CARDINALITIES = (5, 50, 1000, 10, 20)
REFERENCE_ROWS = 100_000
DEFAULT_ROWS = int(os.environ.get("SEIA_BENCH_DRIFT_ROWS", "1000000"))

FEATURES = [{"name": f"n{i}", "type": "numeric"} for i in range(N_NUMERIC)] + [
    {"name": f"c{i}", "type": "categorical"} for i in range(len(CARDINALITIES))
]

# Rows made inside PostgreSQL: n_j ~ j + (1 + j/10)·N(0, 1) (Box–Muller), categories uniform.
# `g * 0` makes the array subquery correlated, so each row draws its own values.
_ROWS = """
    SELECT %(prefix)s || g, %(start)s::timestamptz + (g * %(span)s::float8 / %(n)s) * interval '1 second',
           ARRAY(SELECT j + (1 + j / 10.0) * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + g * 0
                 FROM generate_series(0, {last}) j),
           ARRAY[{cats}], CASE WHEN random() < 0.3 THEN 'yes' ELSE 'no' END, random()
    FROM generate_series(1, %(n)s) g"""
LOAD_PREDICTIONS = (
    "INSERT INTO predictions (model_id, prediction_id, ts, num, cat, prediction_label, score) "
    "SELECT %(model)s, * FROM (" + _ROWS + ") r"
)
LOAD_REFERENCE = (
    "INSERT INTO reference_rows (model_id, prediction_id, ts, num, cat, prediction_label, score) "
    "SELECT %(model)s, * FROM (" + _ROWS + ") r"
)
BUMP_REFERENCE = """
    INSERT INTO reference_versions (model_id, rows) VALUES (%(model)s, %(n)s)
    ON CONFLICT (model_id) DO UPDATE SET version = reference_versions.version + 1, rows = EXCLUDED.rows"""


def _rows_sql(template: str) -> str:
    cats = ", ".join(f"'v' || floor(random() * {k})::int" for k in CARDINALITIES)
    return template.replace("{last}", str(N_NUMERIC - 1)).replace("{cats}", cats)


def _load(settings, n_rows: int):
    from datetime import UTC, datetime, timedelta

    from seia import partitions
    from seia.db import superuser_connect
    from seia.repositories.models import ModelRepository
    from seia.schema import Feature
    from seia.tenancy import TenantAdmin

    created = TenantAdmin(settings).create_tenant("drift")
    with superuser_connect(settings, created.tenant.db_name) as conn:
        model = ModelRepository(conn).insert(
            "m", "binary_classification", [Feature(f["name"], f["type"]) for f in FEATURES], ["no", "yes"], {}
        )
        assert model is not None  # a new tenant has no model of that name
        conn.execute("SELECT setseed(0.42)")
        # the partitions of the rows' weeks (tenant migration 0009), as the repositories make them on demand
        start = datetime(2026, 10, 1, tzinfo=UTC)
        partitions.ensure_partitions(conn, model.id, start, start + timedelta(days=1), tables=("reference_rows",))
        start = datetime(2026, 11, 1, tzinfo=UTC)
        partitions.ensure_partitions(conn, model.id, start, start + timedelta(days=8), tables=("predictions",))
        t = Timer()
        with conn.transaction():
            conn.execute(
                _rows_sql(LOAD_REFERENCE),
                {"model": model.id, "prefix": "r", "n": REFERENCE_ROWS, "start": "2026-10-01T00:00:00Z", "span": 86400},
            )
            conn.execute(BUMP_REFERENCE, {"model": model.id, "n": REFERENCE_ROWS})
        with conn.transaction():
            conn.execute(
                _rows_sql(LOAD_PREDICTIONS),
                {"model": model.id, "prefix": "p", "n": n_rows, "start": "2026-11-01T00:00:00Z", "span": 7 * 86400},
            )
        conn.execute("VACUUM ANALYZE predictions")
        conn.execute("VACUUM ANALYZE reference_rows")
        print(
            f"  (loaded {REFERENCE_ROWS:,} reference + {n_rows:,} rows with generate_series in {t.elapsed:.0f} s)",
            flush=True,
        )
    return created.tenant, model


def _run_child(tenant_name: str) -> dict:
    """Run the engine once in a fresh process; returns its seconds, step report and peak RSS."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.drift", "--child", tenant_name],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(tenant_name: str) -> None:
    import resource

    from seia.config import get_settings
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    databases = WorkerDatabases(get_settings())
    tenant = databases.tenant_named(tenant_name)
    engine = DriftEngine(databases)
    cpu: dict[str, tuple[float, float | None]] = {}
    engine.steps = [_timed(step, cpu) for step in engine.steps]
    t = Timer()
    report = engine.run(tenant, "m")
    seconds = t.elapsed
    databases.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "report": report,
                "cpu": cpu,
                "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            },
            default=str,
        )
    )


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds of a PostgreSQL backend on this host (/proc), or None (another host, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(step, cpu: dict):
    """The step, its CPU recorded in ``cpu``: the worker's (all its threads) and its PostgreSQL backend's.
    Wall time on a shared machine swings with other work; CPU much less, so two runs compare by it."""
    import time

    from seia_drift.steps.base import Step

    class Timed(Step):
        name = step.name

        def run(self, ctx):
            pid = ctx.conn.info.backend_pid
            worker, db = time.process_time(), _backend_cpu(pid)
            try:
                return step.run(ctx)
            finally:
                db_after = _backend_cpu(pid)
                cpu[self.name] = (
                    time.process_time() - worker,
                    None if db is None or db_after is None else db_after - db,
                )

    return Timed()


def _numpy_floor(settings, tenant, model_id: int) -> tuple[float, float]:
    """Seconds for numpy to compute the same hourly sketches from rows already in memory, and the
    seconds it took to fetch those rows (not part of the floor)."""
    import numpy as np
    import pandas as pd

    from seia.db import superuser_connect

    t = Timer()
    with superuser_connect(settings, tenant.db_name) as conn:
        edges = {
            r[0]: np.asarray(r[1])
            for r in conn.execute(
                "SELECT position, edges FROM drift_features WHERE model_id = %s AND kind = 'numeric'", (model_id,)
            )
        }
        columns = ", ".join(
            [f"num[{i + 1}]" for i in range(N_NUMERIC)]
            + ["score"]
            + [f"cat[{j + 1}]" for j in range(len(CARDINALITIES))]
            + ["prediction_label"]
        )
        buf = io.BytesIO()
        with conn.cursor().copy(
            f"COPY (SELECT floor(extract(epoch FROM ts) / 3600)::int, {columns} "
            f"FROM predictions WHERE model_id = {int(model_id)}) TO STDOUT (FORMAT csv)"
        ) as copy:
            for chunk in copy:
                buf.write(chunk)
    buf.seek(0)
    frame = pd.read_csv(buf, header=None, dtype={k: str for k in range(N_NUMERIC + 2, N_NUMERIC + 8)})
    fetch_s = t.elapsed
    hours_raw = frame[0].to_numpy()
    numeric = [frame[i + 1].to_numpy(dtype=float) for i in range(N_NUMERIC + 1)]
    categorical = [frame[N_NUMERIC + 2 + j].to_numpy(dtype=object) for j in range(len(CARDINALITIES) + 1)]

    t = Timer()
    hours, hour_idx = np.unique(hours_raw, return_inverse=True)
    n_hours = hours.size
    for i, x in enumerate(numeric):
        e = edges[i + 1]
        present = np.isfinite(x)
        bucket = np.searchsorted(e, x, side="right")
        k = e.size + 1
        np.bincount(hour_idx[present] * k + bucket[present], minlength=n_hours * k)
        np.bincount(hour_idx, weights=np.where(present, x, 0.0), minlength=n_hours)
        np.bincount(hour_idx, weights=np.where(present, x * x, 0.0), minlength=n_hours)
        np.bincount(hour_idx[~present], minlength=n_hours)
    for values in categorical:
        codes, uniques = pd.factorize(values)
        np.bincount(hour_idx * (uniques.size + 1) + (codes + 1), minlength=n_hours * (uniques.size + 1))
    return t.elapsed, fetch_s


def _one_read(settings, tenant, model_id: int) -> float:
    """Seconds to copy the new rows' values out of PostgreSQL once, as the engine must (binary COPY of the
    numeric values, text COPY of the categorical ones), drained and not parsed: what a drift run from
    stored rows pays before any counting, which the in-memory floor does not."""
    from seia.db import superuser_connect

    numeric = ", ".join(
        [f"coalesce(num[{i + 1}], 'NaN')::float8" for i in range(N_NUMERIC)] + ["coalesce(score, 'NaN')::float8"]
    )
    categorical = ", ".join([f"cat[{j + 1}]" for j in range(len(CARDINALITIES))] + ["prediction_label"])
    t = Timer()
    with superuser_connect(settings, tenant.db_name) as conn:
        for query in (
            f"COPY (SELECT floor(extract(epoch FROM ts) / 3600)::int8, {numeric}, seq FROM predictions "
            f"WHERE model_id = {int(model_id)}) TO STDOUT (FORMAT binary)",
            f"COPY (SELECT floor(extract(epoch FROM ts) / 3600)::int8, {categorical}, seq FROM predictions "
            f"WHERE model_id = {int(model_id)}) TO STDOUT",
        ):
            with conn.cursor().copy(query) as copy:
                for _ in copy:
                    pass
    return t.elapsed


def measure(settings, n_rows: int = DEFAULT_ROWS, floor: bool = True) -> dict:
    tenant, model = _load(settings, n_rows)
    result = _run_child(tenant.name)
    seconds, report, cpu = result["seconds"], result["report"], result.get("cpu", {})
    label = f"{n_rows / 1e6:g}M rows"

    def used(step: str) -> str:
        worker, db = cpu.get(step, (None, None))
        if worker is None:
            return ""
        return f"CPU {worker:.1f} + PostgreSQL {db:.1f} s" if db is not None else f"CPU {worker:.1f} s"

    row(f"drift run, 100k reference vs {label}: rows in Postgres → stored results", f"{seconds:.1f} s")
    row(
        "  of which: profile (hourly sketches, segments, errors)",
        f"{report['profile']['ms'] / 1000:.1f} s",
        used("profile"),
    )
    row(
        "  of which: labels (hourly performance, label sketch)",
        f"{report['labels']['ms'] / 1000:.1f} s",
        used("labels"),
    )
    for step, done in report.items():  # every other step on its own line, in the order they ran
        if step not in ("profile", "labels") and isinstance(done, dict) and "ms" in done:
            row(f"  of which: {step}", f"{done['ms'] / 1000:.1f} s", used(step))
    steps = sum(d["ms"] for d in report.values() if isinstance(d, dict) and "ms" in d)
    row("  of which: outside the steps (start, connections, commit)", f"{(seconds * 1000 - steps) / 1000:.1f} s")
    if cpu:
        worker = sum(c[0] for c in cpu.values())
        db = [c[1] for c in cpu.values() if c[1] is not None]
        total = f"{worker:.1f} + {sum(db):.1f} s" if len(db) == len(cpu) else f"{worker:.1f} s"
        row("CPU of the steps: worker (all threads) + PostgreSQL backend", total, "steadier than wall time")
    row(f"rows/s ({label})", f"{n_rows / seconds:,.0f}")
    row("incidents opened (the new rows are drawn like the reference)", f"{report['alerts']['opened']}")
    row(f"peak RSS of the worker process ({label})", f"{result['max_rss_mib']:.0f} MiB", "goal < 1 GiB")
    out = {"seconds": seconds, "rss_mib": result["max_rss_mib"]}
    if floor:
        floor_s, fetch_s = _numpy_floor(settings, tenant, model.id)
        row(
            "numpy floor: same hourly histograms from rows in memory",
            f"{floor_s:.1f} s",
            f"(fetching them took {fetch_s:.0f} s)",
        )
        row("ratio: drift run / numpy floor", f"{seconds / floor_s:.1f}×", "goal ≤ 3×")
        read_s = _one_read(settings, tenant, model.id)
        row(
            "one read of the rows out of PostgreSQL (COPY, drained, no parsing)",
            f"{read_s:.1f} s",
            f"= {read_s / floor_s:.1f}× the floor by itself",
        )
        row("ratio: drift run / (numpy floor + one read)", f"{seconds / (floor_s + read_s):.1f}×")
        out["floor"] = floor_s
        out["read"] = read_s
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--no-floor", action="store_true", help="skip the numpy floor (e.g. for 10M rows)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return
    from bench.common import bench_environment

    with bench_environment() as settings:
        print("[drift] drift engine", flush=True)
        measure(settings, args.rows, floor=not args.no_floor)


if __name__ == "__main__":
    main()
