"""A 20M-row Parquet file (20 numeric + 5 categorical features) loaded in parts: `--only files-large`.

The file is written in slices (row groups of 131,072 rows), put in a moto server's S3 (a file of this size
is not put in the shared LocalStack), and its notification is sent to the server's SQS work queue. Then
every message on the queue (the plan, each part's stage, each part's publish) is handled by the real
handler in a process of its own, two at a time (this machine has two cores), as two Lambda invocations
side by side would; each process reports its wall time and its peak RSS. The part budget is the
function's default (``seia_files.planning``) unless ``SEIA_FILE_PART_ROWS``/``SEIA_FILE_PART_BYTES`` are set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from bench.common import row
from bench.files import BUCKET, FEATURES, _free_port, _peak_rss_kib

ROWS = int(os.environ.get("SEIA_BENCH_LARGE_ROWS") or 20_000_000)
SLICE = 1_048_576
ROW_GROUP = 131_072
WORKERS = 2


def _slice(n: int, start: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(start)
    i = np.arange(start, start + n)
    columns = {
        "prediction_id": pa.array(np.char.add("L", i.astype(str)).astype(object)),
        "timestamp": pa.array(1_793_491_200_000_000 + i * 100_000, pa.timestamp("us", "UTC")),
    }
    for j in range(20):
        columns[f"n{j}"] = pa.array(np.round(rng.normal(50, 15, n), 1))
    categories = np.array([f"v{k}" for k in range(12)], dtype=object)
    for j in range(5):
        columns[f"c{j}"] = pa.array(categories[(i + j) % 12])
    columns["prediction"] = pa.array(np.where(i % 3 == 0, "no", "yes").astype(object))
    columns["score"] = pa.array(np.round(rng.random(n), 3))
    return pa.table(columns)


def _write(path: str, rows: int) -> None:
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, SLICE):
        table = _slice(min(SLICE, rows - start), start)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=ROW_GROUP)
    assert writer is not None  # rows > 0
    writer.close()


def measure(settings) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    from bench.files import _notification
    from seia.tenancy import TenantAdmin
    from seia_files import planning
    from seia_ingest.service import IngestService

    created = TenantAdmin(settings).create_tenant("bparts")
    IngestService(settings).create_model(
        created.tenant, {"name": "m", "task": "binary_classification", "features": FEATURES, "labels": ["no", "yes"]}
    )
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    os.environ.update(credentials)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    queue = sqs.create_queue(QueueName="bench-files-work", Attributes={"VisibilityTimeout": "3600"})["QueueUrl"]
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=endpoint,
        SEIA_BUCKET=BUCKET,
        SEIA_FILE_WORK_QUEUE_URL=queue,
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        SEIA_LOG_LEVEL="WARNING",
    )
    budget = planning.Budget.from_environment()
    try:
        with tempfile.TemporaryDirectory(prefix="seia-bench-") as tmp:
            path = os.path.join(tmp, "large.parquet")
            _write(path, ROWS)
            size = os.path.getsize(path)
            key = f"bparts/m/predictions/{ROWS}.parquet"
            s3.upload_file(path, BUCKET, key)
            os.unlink(path)
        etag = s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
        print(
            f"  ({ROWS:,} rows, {size / 2**20:,.0f} MiB of Parquet in row groups of {ROW_GROUP:,}; part budget"
            f" {budget.rows:,} rows / {budget.bytes / 2**20:,.0f} MiB; moto S3/SQS; {WORKERS} invocations at a time)",
            flush=True,
        )
        sqs.send_message(QueueUrl=queue, MessageBody=_notification(key, etag, size))
        started = time.perf_counter()
        runs = _drain(sqs, queue, env)
        wall = time.perf_counter() - started
        tenant, model, kind, name = key.split("/", 3)
        result = json.loads(
            s3.get_object(Bucket=BUCKET, Key=f"{tenant}/{model}/_results/{kind}/{name}.json")["Body"].read()
        )
    finally:
        server.stop()
    if result["status"] != "loaded" or result["rows"] != ROWS:
        raise RuntimeError(f"bench load failed: {result}")
    by_step: dict[str, list[dict]] = {}
    for run in runs:
        by_step.setdefault(run["step"], []).append(run)
    parts = len(by_step.get("stage", []))
    row(f"{ROWS:,} rows in {parts} parts: object -> result object", f"{wall:,.0f} s", f"{ROWS / wall:,.0f} rows/s")
    for step in ("plan", "stage", "publish"):
        done = by_step.get(step, [])
        if not done:
            continue
        seconds = sorted(r["seconds"] for r in done)
        rss = max(r["peak_rss_kib"] for r in done) / 1024
        row(
            f"  {step}: wall per invocation (median / max of {len(done)})",
            f"{seconds[len(seconds) // 2]:,.1f} / {seconds[-1]:,.1f} s",
            f"peak RSS max {rss:,.0f} MiB",
        )


def _drain(sqs, queue: str, env: dict) -> list[dict]:
    """Handle every message, ``WORKERS`` processes at a time, until the queue stays empty."""
    running: list[tuple[subprocess.Popen, dict, object]] = []
    runs: list[dict] = []
    idle_polls = 0
    while True:
        for proc, message, out in list(running):
            if proc.poll() is None:
                continue
            running.remove((proc, message, out))
            out.seek(0)  # type: ignore[attr-defined]
            text = out.read().decode()  # type: ignore[attr-defined]
            out.close()  # type: ignore[attr-defined]
            if proc.returncode != 0:
                raise RuntimeError(f"bench child failed: {text[-2000:]}")
            report = json.loads(next(line for line in reversed(text.splitlines()) if line.startswith('{"step"')))
            if report["failed"]:
                raise RuntimeError(f"a message failed: {report}")
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            runs.append(report)
        if len(running) < WORKERS:
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages", [])
            if got:
                idle_polls = 0
                out = tempfile.TemporaryFile()
                body = got[0]["Body"]
                proc = subprocess.Popen(
                    [sys.executable, "-m", "bench.files_large", "--child", body], env=env, stdout=out, stderr=out
                )
                running.append((proc, got[0], out))
                continue
            if not running:
                idle_polls += 1
                if idle_polls > 3:
                    return runs
        time.sleep(0.2)


def child(body: str) -> None:
    import file_ingest_app

    from infra.local.events import LambdaContext, sqs_event

    content = json.loads(body).get("seia_file_part")
    step = content["step"] if content else "plan"
    started = time.perf_counter()
    response = file_ingest_app.handler(sqs_event([body]), LambdaContext("bench"))
    report = {
        "step": step,
        "part": content["part"] if content else None,
        "seconds": time.perf_counter() - started,
        "failed": bool(response["batchItemFailures"]),
        "peak_rss_kib": _peak_rss_kib(),
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
