"""Bulk files: a 1M-row Parquet file and the same rows as CSV (20 numeric + 5 categorical features),
from object to committed rows through the real handler, with the loading process's peak RSS.

S3 is served from this (parent) process: LocalStack when it answers on 127.0.0.1:4566, else moto's
ThreadedMotoServer, so the object bytes the fake S3 holds do not count. Each load runs in a child
process (``python -m bench.files --child``), which reports its own peak RSS: VmHWM of its address
space. (``ru_maxrss`` of a child, from getrusage(RUSAGE_CHILDREN) or wait4, is no good here: Linux
folds the parent's peak RSS at fork time into it, and this parent holds the generated tables.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench.common import row

BUCKET = "seia-bench-files"
SIZES = (250_000, 1_000_000)
FEATURES = [{"name": f"n{i}", "type": "numeric"} for i in range(20)] + [
    {"name": f"c{i}", "type": "categorical"} for i in range(5)
]


def _table(n: int, prefix: str):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(7)
    i = np.arange(n)
    columns = {
        "prediction_id": pa.array(np.char.add(prefix, i.astype(str)).astype(object)),
        "timestamp": pa.array(1_793_491_200_000_000 + i * 1_000_000, pa.timestamp("us", "UTC")),
    }
    for j in range(20):
        columns[f"n{j}"] = pa.array(np.round(rng.normal(50, 15, n), 3))
    categories = np.array([f"v{k}" for k in range(12)], dtype=object)
    for j in range(5):
        columns[f"c{j}"] = pa.array(categories[(i + j) % 12])
    columns["prediction"] = pa.array(np.where(i % 3 == 0, "no", "yes").astype(object))
    columns["score"] = pa.array(np.round(rng.random(n), 4))
    return pa.table(columns)


def _write(path: str, fmt: str, n: int, prefix: str) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = _table(n, prefix)
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=128 * 1024)
    else:
        # Timestamps as RFC 3339 text, as a CSV producer writes them.
        import pyarrow.compute as pc

        text = pc.strftime(table.column("timestamp"), format="%Y-%m-%dT%H:%M:%SZ")
        table = table.set_column(1, "timestamp", text)
        pcsv.write_csv(table, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _s3_endpoint():
    """(endpoint URL, description, server to stop or None)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:4566/_localstack/health", timeout=1) as reply:
            if json.loads(reply.read()).get("services", {}).get("s3") in ("running", "available"):
                return "http://127.0.0.1:4566", "LocalStack", None
    except (OSError, ValueError):
        pass
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return f"http://127.0.0.1:{port}", "moto server", server


def _child(env: dict, *args: str) -> tuple[dict, float]:
    """Run ``bench.files --child`` and return (its JSON report, its peak RSS in MiB)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.files", "--child", *args], env=env, stdout=subprocess.PIPE, stderr=err
        )
        assert proc.stdout is not None  # stdout=PIPE
        out = proc.stdout.read()
        if proc.wait() != 0:
            err.seek(0)
            raise RuntimeError(f"bench child failed: {err.read().decode()[-2000:]}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    return report, report["peak_rss_kib"] / 1024


def _peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM), in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def files(settings) -> None:
    import boto3

    from seia.tenancy import TenantAdmin
    from seia_ingest.service import IngestService

    created = TenantAdmin(settings).create_tenant("bfiles")
    IngestService(settings).create_model(
        created.tenant, {"name": "m", "task": "binary_classification", "features": FEATURES, "labels": ["no", "yes"]}
    )
    endpoint, what, server = _s3_endpoint()
    env = dict(
        os.environ, AWS_ENDPOINT_URL=endpoint, SEIA_BUCKET=BUCKET, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)
    )
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        env.setdefault(name, value)
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    print(
        f"  (S3: {what} at {endpoint}; 20 numeric + 5 categorical features; Parquet row groups of 131,072 rows)",
        flush=True,
    )
    end_to_end = 0.0
    try:
        with tempfile.TemporaryDirectory(prefix="seia-bench-") as tmp:
            for fmt in ("parquet", "csv"):
                for n in SIZES:
                    prefix = f"{fmt}{n}-"
                    path = os.path.join(tmp, f"f.{fmt}")
                    _write(path, fmt, n, prefix)
                    size = os.path.getsize(path)
                    key = f"bfiles/m/predictions/{n}.{fmt}"
                    s3.upload_file(path, BUCKET, key)
                    head = s3.head_object(Bucket=BUCKET, Key=key)
                    os.unlink(path)
                    parsed, parse_rss = _child(env, "--parse-only", key, head["ETag"].strip('"'), str(size))
                    report, rss = _child(env, key, head["ETag"].strip('"'), str(size))
                    if report["status"] != "loaded" or report["rows"] != n:
                        raise RuntimeError(f"bench load failed: {report}")
                    label = f"{fmt}, {n:,} rows ({size / 2**20:,.0f} MiB)"
                    goal = "goal >= 200,000 rows/s" if fmt == "parquet" and n == SIZES[-1] else ""
                    rate = n / report["seconds"]
                    row(f"{label}: object -> committed rows", f"{rate:,.0f} rows/s", goal)
                    if fmt == "parquet" and n == SIZES[-1]:
                        end_to_end = rate
                    row(
                        f"{label}: peak RSS of the loading process",
                        f"{rss:,.0f} MiB",
                        "goal < 1,024 MiB, flat in file size" if n == SIZES[-1] else "",
                    )
                    row(
                        f"{label}: read + check + encode only",
                        f"{n / parsed['seconds']:,.0f} rows/s",
                        f"peak RSS {parse_rss:,.0f} MiB",
                    )
                    if fmt == "parquet" and n == SIZES[-1]:
                        # right after the load it is compared with, on the same machine state
                        _database_floor(settings, f"parquet{SIZES[-1]}-", end_to_end)
    finally:
        if server is not None:
            server.stop()


def _database_floor(settings, id_prefix: str, end_to_end: float) -> None:
    """The same rows COPYed (binary) straight into tables without the load's work: the write path's floor.

    The unindexed table is the goal's yardstick (>= 70% of it end to end); the partitioned one is a leaf as the
    load fills it (one BRIN on ts, seq and xid), without the prediction_keys claim."""
    from bench.common import Timer
    from seia import partitions

    columns = "model_id, prediction_id, ts, num, cat, prediction_label, score"
    with superuser_connect_bench(settings) as conn:
        model_id = conn.execute("SELECT id FROM models WHERE name = 'm'").fetchone()[0]
        with conn.cursor().copy(
            f"COPY (SELECT {columns} FROM predictions WHERE prediction_id LIKE %s) TO STDOUT (FORMAT binary)",
            (id_prefix + "%",),
        ) as copy:
            data = b"".join(bytes(block) for block in copy)
        found = conn.execute(
            "SELECT count(*) FROM predictions WHERE prediction_id LIKE %s", (id_prefix + "%",)
        ).fetchone()
        assert found is not None  # the query always returns one row
        n = found[0]
        floors = {}
        for label, create in (
            ("an unindexed table", "CREATE TABLE bench_floor (LIKE predictions INCLUDING DEFAULTS)"),
            (
                "a leaf as the load fills it (BRIN ts, seq, xid)",
                "CREATE TABLE bench_floor (LIKE predictions INCLUDING ALL)",
            ),
        ):
            conn.execute(create)
            timer = Timer()
            with conn.cursor().copy(f"COPY bench_floor ({columns}) FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
            floors[label] = n / timer.elapsed
            row(f"floor: binary COPY of the {n:,} rows into {label}", f"{floors[label]:,.0f} rows/s")
            conn.execute("DROP TABLE bench_floor")
        bare = floors["an unindexed table"]
        row(
            "parquet, 1M rows end to end / bare binary COPY (same run)",
            f"{end_to_end / bare:.0%}",
            f"{end_to_end:,.0f} vs {bare:,.0f} rows/s; goal >= 70% (or >= 200,000 rows/s)",
        )
        usage = partitions.partition_usage(conn, model_id)
        stored = usage["predictions"]["rows"]
        raw = usage["predictions"]["bytes"] * 1e6 / stored
        keys = usage["prediction_keys"]["bytes"] * 1e6 / stored
        row(
            "bytes per million predictions (25 features), rows + indexes",
            f"{(raw + keys) / 2**20:,.0f} MiB",
            f"{raw / 2**20:,.0f} MiB rows, {keys / 2**20:,.0f} MiB prediction_keys",
        )
        _drop_a_month(conn, model_id)


def superuser_connect_bench(settings):
    from seia import naming
    from seia.db import superuser_connect

    return superuser_connect(settings, naming.tenant_database(settings.db_prefix, "bfiles"))


def _drop_a_month(conn, model_id: int) -> None:
    """A month of the loaded model's rows (1M, copied into the leaves of five weeks two years back), dropped as
    retention drops it: whole leaves, their keys trimmed."""
    from datetime import UTC, datetime, timedelta

    from bench.common import Timer
    from seia import partitions

    start = datetime(2024, 11, 4, tzinfo=UTC)  # a Monday: five whole weekly leaves
    end = start + timedelta(days=35)
    conn.execute("SET ROLE NONE")
    partitions.ensure_partitions(conn, model_id, start, end, tables=("predictions",))
    conn.execute(
        """INSERT INTO predictions (model_id, prediction_id, ts, num, cat, prediction_label, score)
           SELECT model_id, 'old-' || prediction_id, %s + (seq %% 3024000) * interval '1 second', num, cat,
                  prediction_label, score
           FROM predictions WHERE model_id = %s AND ts >= '2026-01-01' LIMIT 1000000""",
        (start, model_id),
    )
    conn.execute(
        """INSERT INTO prediction_keys (model_id, prediction_id, ts)
           SELECT model_id, prediction_id, ts FROM predictions WHERE model_id = %s AND ts < %s""",
        (model_id, end),
    )
    timer = Timer()
    with conn.transaction():
        done = partitions.drop_expired(conn, model_id, end, batch=100, keys=0)
    dropping = timer.elapsed
    timer = Timer()
    with conn.transaction():
        trimmed = partitions.drop_expired(conn, model_id, end, batch=100, keys=10_000_000)
    row(
        "retention: drop a month of partitions (5 weekly leaves, 1M rows)",
        f"{dropping:,.2f} s",
        f"{len(done.leaves)} leaves; then trimming their {trimmed.keys:,} keys: {timer.elapsed:,.2f} s",
    )


# --- the loading process ------------------------------------------------------------------------
def _notification(key: str, etag: str, size: int) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": size, "eTag": etag}},
                }
            ]
        }
    )


def _parse_only(key: str, etag: str) -> int:
    """Read, check and encode every chunk as the loader does, without a database."""
    from seia.config import get_settings
    from seia.db import Databases
    from seia.repositories.admin import TenantRepository
    from seia.repositories.models import ModelRepository
    from seia_files import formats, keys
    from seia_files.columns import ChunkValidator, FileColumns
    from seia_files.encoding import CopyEncoder
    from seia_files.events import ObjectCreated
    from seia_files.storage import ObjectStore, s3_client

    location = keys.parse(key)
    db = Databases(get_settings())
    with db.admin() as conn:
        tenant = TenantRepository(conn).get(location.tenant)
    assert tenant is not None, location.tenant
    with db.tenant(tenant) as conn:
        model = ModelRepository(conn).get(location.model)
    assert model is not None, location.model
    db.close()
    columns = FileColumns(model, location.kind)
    store, obj = ObjectStore(s3_client()), ObjectCreated(BUCKET, key, etag)

    def run(source) -> int:
        reader = formats.open_chunks(
            location.format,
            location.compression,
            source,
            columns.required + columns.optional,
            65_536,
            columns.text_columns,
        )
        layout = columns.layout(columns.check_header(reader.columns))
        validator, encoder, rows = ChunkValidator(layout), CopyEncoder(layout), 0
        for first, table in reader:
            encoder.encode(validator.validate(table, first))
            rows += table.num_rows
        return rows

    if location.format == "parquet":
        with store.spooled(obj) as path:
            return run(path)
    with store.stream(obj) as stream:
        return run(stream)


def child(argv: list[str]) -> None:
    # As in Lambda, where the file-ingest function's layers carry no pandas (layers/files/requirements.txt):
    # pyarrow imports pandas whenever it is installed (pa.array of a list asks whether it is a pandas object),
    # 0.4 s of a fresh process here that the function never pays. An import of pandas by the function's own
    # code fails here as it would there.
    import importlib.abc

    class NoPandas(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "pandas" or name.startswith("pandas."):
                raise ModuleNotFoundError("no pandas in the file-ingest function's layers", name=name)
            return None

    sys.meta_path.insert(0, NoPandas())
    parse_only = argv[0] == "--parse-only"
    key, etag, size = argv[1:] if parse_only else argv
    started = time.perf_counter()
    if parse_only:
        rows, status = _parse_only(key, etag), "parsed"
    else:
        import file_ingest_app

        from infra.local.events import LambdaContext, sqs_event

        response = file_ingest_app.handler(sqs_event([_notification(key, etag, int(size))]), LambdaContext("bench"))
        assert response == {"batchItemFailures": []}, response
        from seia_files.service import get_file_ingest_service

        service = get_file_ingest_service()
        tenant, model, kind, name = key.split("/", 3)
        result = json.loads(
            service.store.client.get_object(Bucket=BUCKET, Key=f"{tenant}/{model}/_results/{kind}/{name}.json")[
                "Body"
            ].read()
        )
        rows, status = result["rows"], result["status"]
    print(
        json.dumps(
            {"seconds": time.perf_counter() - started, "rows": rows, "status": status, "peak_rss_kib": _peak_rss_kib()}
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
