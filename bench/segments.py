"""Segments' cost (docs/segments.md): the same rows judged without and with a declared segment field.

Rows as the drift section's (21 numeric + 5 categorical features, ``bench.drift``), 100k reference rows and
``--rows`` new rows (default 200k) over a week, each carrying a ``region`` (40, 30, 20 and 10% of the rows). Two
tenants get the same rows: one model declares no segments, the other declares ``region``; each is run once in a
child process (as the worker). A run with segments is the model's pipeline, then one per followed value and
one for ``other``: the figures say what that costs here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench.common import Timer, row
from bench.drift import BUMP_REFERENCE, FEATURES, LOAD_PREDICTIONS, LOAD_REFERENCE, REFERENCE_ROWS, _rows_sql

DEFAULT_ROWS = int(os.environ.get("SEIA_BENCH_SEGMENT_ROWS", "200000"))
REGION = "(ARRAY['us', 'eu', 'ap', 'sa'])[1 + width_bucket(random(), ARRAY[0.4, 0.7, 0.9])]"


def _load(settings, name: str, n_rows: int, segments: bool):
    from datetime import UTC, datetime, timedelta

    from psycopg.types.json import Jsonb

    from seia import partitions
    from seia.db import superuser_connect
    from seia.repositories.models import ModelRepository
    from seia.schema import Feature
    from seia.tenancy import TenantAdmin

    created = TenantAdmin(settings).create_tenant(name)
    with superuser_connect(settings, created.tenant.db_name) as conn:
        model = ModelRepository(conn).insert(
            "m", "binary_classification", [Feature(f["name"], f["type"]) for f in FEATURES], ["no", "yes"], {}
        )
        assert model is not None  # a new tenant has no model of that name
        if segments:
            conn.execute("UPDATE models SET segments = %s WHERE id = %s", (Jsonb(["region"]), model.id))
        conn.execute("SELECT setseed(0.42)")
        start = datetime(2026, 10, 1, tzinfo=UTC)
        partitions.ensure_partitions(conn, model.id, start, start + timedelta(days=1), tables=("reference_rows",))
        start = datetime(2026, 11, 1, tzinfo=UTC)
        partitions.ensure_partitions(conn, model.id, start, start + timedelta(days=8), tables=("predictions",))
        with conn.transaction():
            conn.execute(
                _region_sql(LOAD_REFERENCE),
                {"model": model.id, "prefix": "r", "n": REFERENCE_ROWS, "start": "2026-10-01T00:00:00Z", "span": 86400},
            )
            conn.execute(BUMP_REFERENCE, {"model": model.id, "n": REFERENCE_ROWS})
        with conn.transaction():
            conn.execute(
                _region_sql(LOAD_PREDICTIONS),
                {"model": model.id, "prefix": "p", "n": n_rows, "start": "2026-11-01T00:00:00Z", "span": 7 * 86400},
            )
        conn.execute("VACUUM ANALYZE predictions")
        conn.execute("VACUUM ANALYZE reference_rows")
    return created.tenant


def _region_sql(template: str) -> str:
    """The drift section's INSERT ... SELECT with a region appended to each row (``seg``)."""
    text = _rows_sql(template)
    head, tail = text.split(" SELECT %(model)s, * FROM (", 1)
    return head.replace(", score)", ", score, seg)") + f" SELECT %(model)s, r.*, ARRAY[{REGION}] FROM (" + tail


def _run_child(tenant_name: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.drift", "--child", tenant_name],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(settings, n_rows: int = DEFAULT_ROWS) -> dict:
    t = Timer()
    plain = _load(settings, "segoff", n_rows, segments=False)
    declared = _load(settings, "segon", n_rows, segments=True)
    print(f"  (loaded 2 × ({REFERENCE_ROWS:,} reference + {n_rows:,} rows) in {t.elapsed:.0f} s)", flush=True)
    without = _run_child(plain.name)
    with_ = _run_child(declared.name)
    label = f"{n_rows / 1e3:g}k rows"
    row(f"drift run, {label}, no segments declared", f"{without['seconds']:.1f} s")
    row(f"drift run, {label}, region declared (us 40%, eu 30%, ap 20%, sa 10%, other 0%)", f"{with_['seconds']:.1f} s")
    report = with_["report"]
    parent = sum(d["ms"] for k, d in report.items() if isinstance(d, dict) and "ms" in d and k != "segment_values")
    row("  of which: the model's own steps", f"{parent / 1000:.1f} s")
    row("  of which: following the values (segment_values step)", f"{report['segment_values']['ms'] / 1000:.1f} s")
    for segment, steps in report["segments"].items():
        row(f"  of which: segment model {segment}", f"{sum(d['ms'] for d in steps.values()) / 1000:.1f} s")
    row("ratio: with / without segments (5 segment models)", f"{with_['seconds'] / without['seconds']:.1f}×")
    row("peak RSS of the worker process, with segments", f"{with_['max_rss_mib']:.0f} MiB")
    return {"without": without["seconds"], "with": with_["seconds"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args(argv)
    from bench.common import bench_environment

    with bench_environment() as settings:
        print("[segments] drift engine without and with a segment field", flush=True)
        measure(settings, args.rows)


if __name__ == "__main__":
    main()
