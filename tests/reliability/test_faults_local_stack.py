"""Faults of the local AWS stand-ins: the function host killed mid-batch, LocalStack restarted.

Both run against a private LocalStack (the shared one on :4566 is never restarted) and the function
host in a subprocess, as `make up` runs it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time

import pytest

from tests.reliability.conftest import ROOT, count, drift_matches_clean, say, subprocess_env
from tests.reliability.stackplan import deploy_plan
from tests.support import data

VISIBILITY = 8
HEADER = "prediction_id,timestamp,age,income,plan,prediction,score"


def _records(prefix: str, n: int) -> list[dict]:
    out = []
    for i in range(n):
        rec = data.prediction(i)
        rec["prediction_id"] = f"{prefix}-{i}"
        out.append(rec)
    return out


def _csv(records: list[dict]) -> bytes:
    lines = [HEADER] + [
        f"{r['prediction_id']},{r['timestamp']},{r['features']['age']},{r['features']['income']},"
        f"{r['features']['plan']},{r['prediction']},{r['score']}"
        for r in records
    ]
    return ("\n".join(lines) + "\n").encode()


class Host:
    """The function host subprocess."""

    def __init__(self, stack: str, endpoint: str, env: dict, log_path):
        self.args = [sys.executable, "-m", "tests.reliability.host_process", stack, str(VISIBILITY)]
        self.env = subprocess_env({**env, "SEIA_AWS_ENDPOINT": endpoint})
        self.log_path = log_path
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=open(self.log_path, "ab"), text=True
        )
        assert self.proc.stdout.readline().strip() == "host ready"

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()


@pytest.fixture
def aws(private_localstack, settings, tmp_path, monkeypatch):
    from infra.local import stack

    name = "rel" + secrets.token_hex(3)
    plan, urls = deploy_plan(name, VISIBILITY, private_localstack.endpoint)
    env = {
        **stack.aws_environment(private_localstack.endpoint),
        **plan.environment,
        "SEIA_LOCAL_RETRY_SECONDS": "1",
        "SEIA_FILE_CHUNK_ROWS": "2000",
    }
    host = Host(name, private_localstack.endpoint, env, tmp_path / "host.log")
    bucket = next(iter(plan.buckets))
    s3 = stack.client("s3", private_localstack.endpoint)
    yield {
        "plan": plan,
        "host": host,
        "bucket": bucket,
        "s3": s3,
        "ls": private_localstack,
        "name": name,
        "log": tmp_path / "host.log",
    }
    host.stop()


def _results(s3, bucket: str, keys: list[str]) -> dict:
    out = {}
    for key in keys:
        tenant, model, kind, name = key.split("/", 3)
        try:
            obj = s3.get_object(Bucket=bucket, Key=f"{tenant}/{model}/_results/{kind}/{name}.json")
            out[key] = json.loads(obj["Body"].read())
        except s3.exceptions.NoSuchKey:
            pass
    return out


def _wait_results(s3, bucket, keys, timeout=120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = _results(s3, bucket, keys)
        if len(got) == len(keys):
            return got
        time.sleep(0.5)
    raise AssertionError(f"results after {timeout}s: {sorted(_results(s3, bucket, keys))} of {keys}")


def test_the_function_host_killed_mid_batch_then_restarted_loads_every_file_once(aws, churn_tenant, api, settings):
    s3, bucket, host = aws["s3"], aws["bucket"], aws["host"]
    files = {f"{churn_tenant.name}/churn/predictions/part{i}.csv": _records(f"f{i}", 8000) for i in range(6)}
    host.start()
    for key, records in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=_csv(records))
    deadline = time.time() + 60
    while count(churn_tenant) == 0 and time.time() < deadline:
        time.sleep(0.02)
    host.kill9()
    at_kill = count(churn_tenant)
    with churn_tenant.connect() as conn:
        files_at_kill = conn.execute("SELECT count(*) FROM file_ingests").fetchone()[0]
    say(
        f"host kill: 6 files of 8,000 rows put; host killed with SIGKILL once the first file committed: "
        f"{files_at_kill} file(s), {at_kill} rows stored, {len(_results(s3, bucket, list(files)))} result(s) written"
    )
    assert files_at_kill < len(files), "the kill came too late to be mid-batch"
    host.start()
    say(f"host kill: host restarted; in-flight messages come back after the queue's visibility ({VISIBILITY} s)")
    results = _wait_results(s3, bucket, list(files))
    with churn_tenant.connect() as conn:
        logged = conn.execute("SELECT count(*), sum(rows)::int FROM file_ingests").fetchone()
    say(
        f"host kill: results {[r['status'] + ':' + str(r['rows']) for r in results.values()]}; "
        f"rows stored {count(churn_tenant)}; file_ingests {tuple(logged)}"
    )
    assert all(r["status"] == "loaded" for r in results.values())
    assert tuple(logged) == (6, 48000)
    assert count(churn_tenant) == 48000
    drift_matches_clean(api, churn_tenant, settings, "churn", [r for rs in files.values() for r in rs])


def test_localstack_restarted_loses_its_state_and_a_redeployed_stack_ingests_again(aws, churn_tenant, api, settings):
    from infra.local import stack

    s3, bucket, host, ls = aws["s3"], aws["bucket"], aws["host"], aws["ls"]
    before = f"{churn_tenant.name}/churn/predictions/before.csv"
    pending = f"{churn_tenant.name}/churn/predictions/pending.csv"
    after = f"{churn_tenant.name}/churn/predictions/after.csv"
    recs = {before: _records("before", 500), pending: _records("pending", 500), after: _records("after", 500)}
    host.start()
    s3.put_object(Bucket=bucket, Key=before, Body=_csv(recs[before]))
    assert _wait_results(s3, bucket, [before])[before]["status"] == "loaded"
    host.stop()
    s3.put_object(Bucket=bucket, Key=pending, Body=_csv(recs[pending]))
    say("localstack restart: 'before.csv' loaded; host stopped; 'pending.csv' put and not yet processed")
    ls.restart()
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket=bucket)
    say(
        "localstack restart: LocalStack restarted (state in memory only): the bucket, its objects and the queue's "
        "messages are gone, so 'pending.csv' is lost. This is a property of the local stand-in: S3 and SQS in AWS keep "
        "objects and messages; the client must upload again"
    )
    assert (
        api.post("/v1/models/churn/predictions", churn_tenant.api_key, json={"records": _records("api", 10)}).status
        == 202
    )  # the API needs no LocalStack
    stack.deploy(aws["plan"], ls.endpoint)
    s3 = stack.client("s3", ls.endpoint)
    host.start()
    s3.put_object(Bucket=bucket, Key=after, Body=_csv(recs[after]))
    s3.put_object(Bucket=bucket, Key=pending, Body=_csv(recs[pending]))
    results = _wait_results(s3, bucket, [after, pending])
    say(
        f"localstack restart: stack re-deployed with stack.deploy, host restarted; after.csv -> "
        f"{results[after]['status']}:{results[after]['rows']}, pending.csv uploaded again -> "
        f"{results[pending]['status']}:{results[pending]['rows']}; rows stored {count(churn_tenant)}"
    )
    assert all(r["status"] == "loaded" and r["rows"] == 500 for r in results.values())
    assert count(churn_tenant) == 1510
    drift_matches_clean(
        api, churn_tenant, settings, "churn", [r for rs in recs.values() for r in rs] + _records("api", 10)
    )
