"""`make bench`: every benchmark section, printing its figures. ``--only api,files,...``"""

from __future__ import annotations

import argparse
import os
import platform

from bench.common import bench_environment

SECTIONS = [
    "api",
    "files",
    "query",
    "drift",
    "segments",
    "history",
    "move",
    "throttle",
    "connections",
    "planner",
    "fairness",
    "estimation",
]
# Long: run only when named (`--only files-large`).
OPTIONAL = ["files-large", "files-phases"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help="comma-separated sections (also: " + ", ".join(OPTIONAL) + ")"
    )
    parser.add_argument("--tenants", type=int, default=1000, help="tenant databases of the connections section")
    args = parser.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s]
    print(
        f"Seia benchmarks on {platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()});"
        " medians of one run on a shared machine: compare ratios, not absolutes.\n",
        flush=True,
    )
    with bench_environment() as settings:
        if "api" in wanted:
            from bench import api

            print("[api] ingest handler and imports", flush=True)
            api.import_times()
            api.handler_time(settings)
            api.storage(settings)
        if "files" in wanted:
            from bench import files

            print("\n[files] bulk files: S3 object -> SQS message -> file-ingest handler -> committed rows", flush=True)
            files.files(settings)
        if "files-large" in wanted:
            from bench import files_large

            print(
                f"\n[files-large] a {files_large.ROWS:,}-row Parquet file loaded in parts, invocations side by side",
                flush=True,
            )
            files_large.measure(settings)
        if "files-phases" in wanted:
            from bench import files_phases

            print("\n[files-phases] a 1M-row Parquet load in this process, its COPYs and encoding timed", flush=True)
            files_phases.measure(settings)
        if "query" in wanted:
            from bench import query

            print("\n[query] drift route over 90 days of hourly sketches (handler time, warm process)", flush=True)
            query.query(settings)
        if "drift" in wanted:
            from bench import drift

            print("\n[drift] drift engine: 100k reference rows vs 1M new rows", flush=True)
            drift.measure(settings)
        if "segments" in wanted:
            from bench import segments

            print("\n[segments] the same rows without and with a segment field (4 values + other)", flush=True)
            segments.measure(settings)
        if "history" in wanted:
            from bench import history

            print("\n[history] ten months of daily windows: rows → incidents and causes, against NannyML", flush=True)
            history.measure(settings)
        if "move" in wanted:
            from bench import move

            print(
                f"\n[move] seia tenant move of {move.ROWS:,} predictions to a second cluster, under writes", flush=True
            )
            move.measure(settings)
        if "throttle" in wanted:
            from bench import throttle

            print("\n[throttle] one key sends 100 parallel 10,000-record batches; another tenant reads", flush=True)
            throttle.measure(settings)
        if "connections" in wanted:
            from bench import connections

            print(
                f"\n[connections] {args.tenants:,} tenants, the API's deployed concurrency: server connections",
                flush=True,
            )
            connections.measure(settings, args.tenants)
        if "planner" in wanted:
            from bench import planner

            print("\n[planner] drift fan-out: 1,000 tenant databases × 10 models (builds them: minutes)", flush=True)
            planner.measure(settings)
        if "fairness" in wanted:
            from bench import fairness

            print("\n[fairness] one fair work queue, tenant A's 2,000 files before tenant B's 5", flush=True)
            fairness.measure()
        if "estimation" in wanted:
            from bench import estimation

            print(
                "\n[estimation] estimated performance against NannyML 0.13's CBPE, its synthetic datasets", flush=True
            )
            estimation.measure()


if __name__ == "__main__":
    main()
