"""End to end on LocalStack: a file put in the bucket is loaded by the function host, with its result object."""

import gzip
import io
import json
import time

import pyarrow as pa
import pyarrow.parquet as pq

from infra.local import stack
from tests.support import data


def _rows(start, n):
    out = []
    for i in range(start, start + n):
        rec = data.prediction(i)
        out.append(
            {
                "prediction_id": rec["prediction_id"],
                "timestamp": rec["timestamp"],
                "prediction": rec["prediction"],
                "score": rec["score"],
                **rec["features"],
            }
        )
    return out


def _csv(rows) -> bytes:
    cols = list(rows[0])
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _jsonl(rows) -> bytes:
    return "".join(json.dumps({k: (str(v) if k == "plan" else v) for k, v in r.items()}) + "\n" for r in rows).encode()


def _parquet(rows) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


FORMATS = {
    "a.csv": lambda rows: _csv(rows),
    "b.csv.gz": lambda rows: gzip.compress(_csv(rows)),
    "c.parquet": lambda rows: _parquet(rows),
    "d.jsonl": lambda rows: _jsonl(rows),
    "e.jsonl.gz": lambda rows: gzip.compress(_jsonl(rows)),
}


def _wait_for(s3, bucket, key, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            time.sleep(0.5)
    raise AssertionError(f"no result object at {key} after {timeout}s")


def test_one_file_of_each_format_is_loaded_with_its_result(local_stack, aws_env, api, tenant):
    plan, _ = local_stack
    (bucket,) = plan.buckets
    s3 = stack.client("s3", aws_env)
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    for i, (name, build) in enumerate(FORMATS.items()):
        s3.put_object(Bucket=bucket, Key=f"{tenant.name}/churn/predictions/{name}", Body=build(_rows(i * 100, 40)))
    results = {name: _wait_for(s3, bucket, f"{tenant.name}/churn/_results/predictions/{name}.json") for name in FORMATS}
    for name, result in results.items():
        assert (result["status"], result["rows"], result["duplicates"], result["errors"]) == ("loaded", 40, 0, []), name
    assert tenant.snapshot()["predictions"] == 5 * 40
    with tenant.connect() as conn:
        assert conn.execute(
            "SELECT num, cat, prediction_label FROM predictions WHERE prediction_id = 'p204'"
        ).fetchone() == ([24.0, 24000.0], ["free"], "churn")


def test_a_bad_file_is_rejected_with_row_and_column_and_loads_nothing(local_stack, aws_env, api, tenant):
    plan, _ = local_stack
    (bucket,) = plan.buckets
    s3 = stack.client("s3", aws_env)
    api.post("/v1/models", tenant.api_key, json=data.model())
    rows = _rows(0, 30)
    rows[17]["age"] = "old"
    before = tenant.snapshot()
    s3.put_object(Bucket=bucket, Key=f"{tenant.name}/churn/predictions/bad.csv", Body=_csv(rows))
    result = _wait_for(s3, bucket, f"{tenant.name}/churn/_results/predictions/bad.csv.json")
    assert result["status"] == "rejected" and result["rows"] == 0
    assert {"row": 18, "column": "age"}.items() <= result["errors"][0].items()
    assert tenant.snapshot() == before


def test_seia_upload_puts_the_file_where_the_loader_finds_it(
    local_stack, aws_env, api, tenant, tmp_path, monkeypatch, capsys
):
    from seia_admin.cli import main

    plan, _ = local_stack
    (bucket,) = plan.buckets
    monkeypatch.setenv("SEIA_BUCKET", bucket)
    api.post("/v1/models", tenant.api_key, json=data.model())
    path = tmp_path / "day.parquet"
    path.write_bytes(_parquet(_rows(0, 25)))
    code = main(
        ["upload", str(path), "--tenant", tenant.name, "--model", "churn", "--kind", "predictions", "--wait", "60"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert '"loaded"' in out
    assert tenant.snapshot()["predictions"] == 25
