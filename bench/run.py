"""`make bench`: every benchmark section, printing its figures. ``--only api,files,...``"""

from __future__ import annotations

import argparse
import os
import platform

from bench.common import bench_environment

SECTIONS = ["api", "files", "query", "drift", "history"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
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
        if "query" in wanted:
            from bench import query

            print("\n[query] drift route over 90 days of hourly sketches (handler time, warm process)", flush=True)
            query.query(settings)
        if "drift" in wanted:
            from bench import drift

            print("\n[drift] drift engine: 100k reference rows vs 1M new rows", flush=True)
            drift.measure(settings)
        if "history" in wanted:
            from bench import history

            print("\n[history] ten months of daily windows: rows → incidents and causes, against NannyML", flush=True)
            history.measure(settings)


if __name__ == "__main__":
    main()
