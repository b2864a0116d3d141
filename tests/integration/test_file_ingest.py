"""Bulk files end to end inside one process: S3 and SQS from moto, the real handler, real PostgreSQL.

A file is put in the bucket; the bucket's notification lands in the queue; ``deliver()`` receives
the queue's messages and hands them to ``file_ingest_app.handler`` as Lambda's SQS event source
would, deleting the messages the handler does not report as failed.
"""

from __future__ import annotations

import gzip
import io
import json
import socket

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from infra.local.events import LambdaContext, sqs_event
from tests.conftest import reset_process_caches
from tests.support import data

BUCKET = "seia-files"
HEADER = "prediction_id,timestamp,age,income,plan,prediction,score"


def csv_rows(n: int, start: int = 0, bad: dict | None = None) -> str:
    """CSV text for the churn model; ``bad`` maps a 1-based data row to a replacement line."""
    lines = [HEADER]
    for i in range(start, start + n):
        row = i - start + 1
        if bad and row in bad:
            lines.append(bad[row])
            continue
        lines.append(
            f"p{i},2026-11-01T10:{i % 60:02d}:00Z,{20 + i % 50},{1000.0 * (i % 90)},"
            f"{['free', 'pro', 'team'][i % 3]},{'churn' if i % 4 == 0 else 'stay'},{(i % 100) / 100}"
        )
    return "\n".join(lines) + "\n"


class FileDrop:
    """The bucket, its queue, and the function that consumes it."""

    def __init__(self):
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")
        self.s3.create_bucket(Bucket=BUCKET)
        self.queue = self.sqs.create_queue(QueueName="seia-files")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
        )
        self.deliver()  # the s3:TestEvent S3 sends when notifications are configured

    def put(self, key: str, body: bytes | str) -> dict:
        return self.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)

    def receive(self) -> list[dict]:
        return self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", []
        )

    def deliver(self, messages: list[dict] | None = None, delete: bool = True) -> dict:
        """Hand the queue's messages (or ``messages``) to the handler; delete those that succeeded."""
        import file_ingest_app

        messages = self.receive() if messages is None else messages
        if not messages:
            return {"batchItemFailures": []}
        event = sqs_event(
            [m["Body"] for m in messages],
            message_ids=[m["MessageId"] for m in messages],
            receive_counts=[int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages],
        )
        response = file_ingest_app.handler(event, LambdaContext("file-ingest"))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        if delete:
            for m in messages:
                if m["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
        return response

    def drop(self, key: str, body: bytes | str) -> dict:
        """Put a file and let the function process its notification; returns the handler's response."""
        self.put(key, body)
        return self.deliver()

    def result(self, key: str) -> dict:
        tenant, model, kind, name = key.split("/", 3)
        obj = self.s3.get_object(Bucket=BUCKET, Key=f"{tenant}/{model}/_results/{kind}/{name}.json")
        return json.loads(obj["Body"].read())

    def keys(self) -> list[str]:
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.fixture
def files(settings, monkeypatch):
    from seia_files.service import get_file_ingest_service

    monkeypatch.setenv("SEIA_BUCKET", BUCKET)
    monkeypatch.setenv("SEIA_FILE_CHUNK_ROWS", "20000")  # several chunks for files of a few 10,000 rows
    with mock_aws():
        reset_process_caches()
        get_file_ingest_service.cache_clear()
        yield FileDrop()
        if get_file_ingest_service.cache_info().currsize:
            get_file_ingest_service().db.close()
        get_file_ingest_service.cache_clear()
    reset_process_caches()


@pytest.fixture
def churn(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    return tenant


def stored(tenant, table: str = "predictions") -> int:
    with tenant.connect() as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# --- loading ----------------------------------------------------------------------------------
def test_a_csv_file_is_loaded_and_its_result_written_next_to_it(files, churn):
    key = f"{churn.name}/churn/predictions/2026/11/day one.csv"
    response = files.drop(key, csv_rows(50))
    assert response == {"batchItemFailures": []}
    result = files.result(key)
    assert (result["status"], result["rows"], result["duplicates"], result["errors"]) == ("loaded", 50, 0, [])
    with churn.connect() as conn:
        row = conn.execute(
            "SELECT ts, num, cat, prediction_label, score FROM predictions WHERE prediction_id = 'p4'"
        ).fetchone()
    assert row[0].isoformat() == "2026-11-01T10:04:00+00:00"
    assert (row[1], row[2], row[3], row[4]) == ([24.0, 4000.0], ["pro"], "churn", 0.04)


def test_values_round_trip_with_nulls_unicode_and_quotes(files, churn):
    text = (
        HEADER + "\n"
        'u1,2026-11-01T10:00:00.123456+02:00,,12.5,"été, ""quoted""",stay,\n'
        "u2,2026-11-01 23:59:59-05:30,-1e-300,,,churn,1\n"
    )
    files.drop(f"{churn.name}/churn/predictions/u.csv", text)
    with churn.connect() as conn:
        rows = conn.execute("SELECT prediction_id, ts, num, cat, score FROM predictions ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["u1", "u2"]
    assert rows[0][1].isoformat() == "2026-11-01T08:00:00.123456+00:00"
    assert (rows[0][2], rows[0][3], rows[0][4]) == ([None, 12.5], ['été, "quoted"'], None)
    assert rows[1][1].isoformat() == "2026-11-02T05:29:59+00:00"
    assert (rows[1][2], rows[1][3], rows[1][4]) == ([-1e-300, None], [None], 1.0)


def _table(n: int):
    return pa.table(
        {
            "prediction_id": [f"p{i}" for i in range(n)],
            "timestamp": pa.array([1_793_527_200_000_000 + i for i in range(n)], pa.timestamp("us", "UTC")),
            "age": pa.array([20 + i % 50 for i in range(n)], pa.int32()),
            "income": [float(i) for i in range(n)],
            "plan": pa.array([["free", "pro"][i % 2] for i in range(n)]).dictionary_encode(),
            "prediction": ["stay"] * n,
            "score": [0.25] * n,
        }
    )


def _encode(fmt: str, n: int) -> bytes:
    if fmt == "parquet":
        buf = io.BytesIO()
        pq.write_table(_table(n), buf, row_group_size=7_000)
        return buf.getvalue()
    if fmt.startswith("jsonl"):
        records = ({**record.pop("features"), **record} for record in (data.prediction(i) for i in range(n)))
        text = "".join(json.dumps(record) + "\n" for record in records)
        return gzip.compress(text.encode()) if fmt.endswith(".gz") else text.encode()
    text = csv_rows(n)
    return gzip.compress(text.encode()) if fmt.endswith(".gz") else text.encode()


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"])
def test_every_format_loads_in_chunks(files, churn, fmt, caplog):
    caplog.set_level("INFO", logger="seia")
    key = f"{churn.name}/churn/predictions/batch.{fmt}"
    files.drop(key, _encode(fmt, 45_000))
    assert files.result(key)["rows"] == 45_000
    assert stored(churn) == 45_000
    assert sum("rows read" in r.getMessage() for r in caplog.records) >= 2  # progress per chunk
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("file tenant=")]
    assert f"tenant={churn.name} model=churn kind=predictions rows=45000 duplicates=0 status=loaded" in line


def test_ground_truths_and_reference_files(files, churn):
    files.drop(f"{churn.name}/churn/predictions/p.csv", csv_rows(10))
    gt = "prediction_id,label,timestamp\np1,churn,2026-11-02T00:00:00Z\np2,stay,\nnope,stay,\n"
    files.drop(f"{churn.name}/churn/ground-truths/g.csv", gt)
    result = files.result(f"{churn.name}/churn/ground-truths/g.csv")
    assert (result["status"], result["rows"], result["unmatched"]) == ("loaded", 3, 1)
    files.drop(f"{churn.name}/churn/ground-truths/g2.csv", "prediction_id,label\np1,stay\n")
    with churn.connect() as conn:
        assert conn.execute("SELECT label FROM ground_truths WHERE prediction_id = 'p1'").fetchone() == ("stay",)
    ref = HEADER + ",label\n" + "r1,2026-11-01T00:00:00Z,30,1.5,pro,stay,0.2,churn\n"
    files.drop(f"{churn.name}/churn/reference/train.csv", ref)
    with churn.connect() as conn:
        assert conn.execute("SELECT label, num FROM reference_rows").fetchall() == [("churn", [30.0, 1.5])]
        assert conn.execute("SELECT version, rows FROM reference_versions").fetchone() == (1, 1)


# --- delivered again, uploaded again -------------------------------------------------------
def test_the_same_notification_three_times_loads_the_file_once(files, churn):
    key = f"{churn.name}/churn/predictions/once.csv"
    files.put(key, csv_rows(30))
    [message] = files.receive()
    for _ in range(3):
        assert files.deliver([message], delete=False) == {"batchItemFailures": []}
    assert stored(churn) == 30
    assert stored(churn, "file_ingests") == 1
    assert files.result(key)["rows"] == 30  # rewritten from the ingest log, not "0 rows"


def test_new_content_under_the_same_key_is_a_new_file_deduplicated_by_prediction_id(files, churn):
    key = f"{churn.name}/churn/predictions/daily.csv"
    files.drop(key, csv_rows(30))
    files.drop(key, csv_rows(30, start=20))
    result = files.result(key)
    assert (result["rows"], result["duplicates"]) == (20, 10)
    assert stored(churn) == 50
    assert stored(churn, "file_ingests") == 2


# --- rejected files -------------------------------------------------------------------------
def _gz_truncated() -> bytes:
    return gzip.compress(csv_rows(5000).encode())[:-200]


REJECTED = {
    "unknown column": (
        f"{HEADER},height\np1,2026-11-01T00:00:00Z,1,2,pro,stay,0.5,180\n",
        "height",
        None,
        "unknown column",
    ),
    "missing column": (
        "prediction_id,timestamp,age,plan,prediction\np1,2026-11-01T00:00:00Z,1,pro,stay\n",
        "income",
        None,
        "missing column",
    ),
    "unparsable value in row 70,000": (
        csv_rows(80_000, bad={70_000: "x,2026-11-01T00:00:00Z,abc,1,pro,stay,0.5"}),
        "age",
        70_000,
        "'abc' is not a number",
    ),
    "timestamp without offset": (
        csv_rows(3, bad={2: "x,2026-11-01T00:00:00,1,1,pro,stay,0.5"}),
        "timestamp",
        2,
        "offset",
    ),
    "timestamp of year 10000 in UTC": (
        csv_rows(3, bad={2: "x,9999-12-31T23:00:00-05:00,1,1,pro,stay,0.5"}),
        "timestamp",
        2,
        "years 1970 to 2200",
    ),
    "timestamp of year 0 in UTC": (
        csv_rows(3, bad={3: "x,0001-01-01T00:30:00+01:00,1,1,pro,stay,0.5"}),
        "timestamp",
        3,
        "years 1970 to 2200",
    ),
    "timestamp before 1970": (
        csv_rows(3, bad={1: "x,1969-12-31T23:59:59Z,1,1,pro,stay,0.5"}),
        "timestamp",
        1,
        "years 1970 to 2200",
    ),
    "timestamp after 2200": (
        csv_rows(3, bad={1: "x,2201-01-01T00:00:00Z,1,1,pro,stay,0.5"}),
        "timestamp",
        1,
        "years 1970 to 2200",
    ),
    "bytes that are not UTF-8": (
        (HEADER + "\nx,2026-11-01T00:00:00Z,1,1,pro,stay,0.5\ny,2026-11-01T00:00:00Z,1,1,").encode()
        + b"\xed\xa0\x80,stay,0.5\n",
        None,
        2,
        "not UTF-8",
    ),
    "label the model does not have": (
        csv_rows(3, bad={3: "x,2026-11-01T00:00:00Z,1,1,pro,maybe,0.5"}),
        "prediction",
        3,
        "not one of the model's labels",
    ),
    "score out of range": (csv_rows(3, bad={1: "x,2026-11-01T00:00:00Z,1,1,pro,stay,1.5"}), "score", 1, "[0, 1]"),
    "infinite number": (csv_rows(3, bad={1: "x,2026-11-01T00:00:00Z,inf,1,pro,stay,0.5"}), "age", 1, "finite"),
    "row with too many values": (csv_rows(3, bad={2: "x,2026-11-01T00:00:00Z,1,1,pro,stay,0.5,9"}), None, 2, "values"),
    "duplicate prediction_id in the file": (
        csv_rows(50_000, bad={45_000: "p3,2026-11-01T00:00:00Z,1,1,pro,stay,0.5"}),
        "prediction_id",
        45_000,
        "duplicate of row 4",
    ),
    "empty file": ("", None, None, "empty"),
    "header only": (HEADER + "\n", None, None, "no data rows"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_a_bad_csv_is_rejected_naming_row_and_column_and_changes_nothing(files, churn, case):
    body, column, row, text = REJECTED[case]
    files.drop(f"{churn.name}/churn/predictions/seed.csv", csv_rows(5))
    before = churn.snapshot()
    key = f"{churn.name}/churn/predictions/bad.csv"
    assert files.drop(key, body) == {"batchItemFailures": []}  # not retried
    result = files.result(key)
    assert (result["status"], result["rows"]) == ("rejected", 0)
    first = result["errors"][0]
    assert (first["row"], first["column"]) == (row, column), result["errors"]
    assert text in first["message"]
    assert churn.snapshot() == before


@pytest.mark.parametrize(
    "name, body, text",
    [
        ("broken.csv.gz", _gz_truncated(), "cannot be read"),
        ("fake.parquet", b"prediction_id,timestamp\n", "not a Parquet file"),
        ("empty.parquet", b"", "empty"),
        ("broken.jsonl", b'{"prediction_id": "a"}\n{"prediction_id": \n', "not valid JSON Lines"),
    ],
)
def test_a_broken_file_is_rejected(files, churn, name, body, text):
    before = churn.snapshot()
    key = f"{churn.name}/churn/predictions/{name}"
    assert files.drop(key, body) == {"batchItemFailures": []}
    result = files.result(key)
    assert result["status"] == "rejected" and text in result["errors"][0]["message"], result
    assert churn.snapshot() == before


@pytest.mark.parametrize(
    "path, text",
    [
        ("{t}/nomodel/predictions/a.csv", "unknown model"),
        ("{t}/churn/forecasts/a.csv", "unknown kind"),
        ("{t}/churn/predictions/a.xlsx", "unsupported file name"),
        ("nosuchtenant/churn/predictions/a.csv", "unknown tenant"),
    ],
)
def test_a_key_that_names_nothing_known_is_rejected(files, churn, path, text):
    before = churn.snapshot()
    key = path.format(t=churn.name)
    assert files.drop(key, csv_rows(3)) == {"batchItemFailures": []}
    parts = key.split("/")
    result_key = "/".join(parts[:2] + ["_results"] + parts[2:]) + ".json"
    result = json.loads(files.s3.get_object(Bucket=BUCKET, Key=result_key)["Body"].read())
    assert result["status"] == "rejected" and text in result["errors"][0]["message"]
    assert churn.snapshot() == before


def test_result_objects_do_not_trigger_loads(files, churn):
    key = f"{churn.name}/churn/predictions/a.csv"
    files.drop(key, csv_rows(3))
    keys_before = files.keys()
    messages = files.receive()  # the notification of the result object itself
    assert len(messages) == 1 and "_results" in messages[0]["Body"]
    assert files.deliver(messages) == {"batchItemFailures": []}
    assert files.keys() == keys_before and files.receive() == []


# --- tenants --------------------------------------------------------------------------------
def test_a_tenant_prefix_reaches_only_that_tenants_database(files, api, make_tenant):
    owner, other = make_tenant(), make_tenant()
    assert api.post("/v1/models", other.api_key, json=data.model(name="secret")).status == 201
    other_before = other.snapshot()
    key = f"{owner.name}/secret/predictions/a.csv"
    files.drop(key, csv_rows(3))
    assert "unknown model" in files.result(key)["errors"][0]["message"]
    assert other.snapshot() == other_before


# --- transient failures -----------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_database_down_leaves_the_message_for_redelivery_and_nothing_is_lost_or_doubled(files, churn, tenant_admin):
    key = f"{churn.name}/churn/predictions/later.csv"
    files.put(key, csv_rows(40))
    with tenant_admin.admin_connection() as admin:
        admin.execute("UPDATE tenants SET db_port = %s WHERE name = %s", (_closed_port(), churn.name))
    [message] = files.receive()
    assert files.deliver([message]) == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert stored(churn) == 0
    with tenant_admin.admin_connection() as admin:
        admin.execute("UPDATE tenants SET db_port = NULL WHERE name = %s", (churn.name,))
    files.sqs.change_message_visibility(
        QueueUrl=files.queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = files.receive()
    assert again["MessageId"] == message["MessageId"]
    assert files.deliver([again]) == {"batchItemFailures": []}
    assert files.deliver([again]) == {"batchItemFailures": []}  # a late duplicate delivery
    assert stored(churn) == 40
    assert files.result(key)["status"] == "loaded"


def test_s3_throttling_leaves_the_message_for_redelivery(files, churn):
    from botocore.exceptions import ClientError

    from seia_files.service import get_file_ingest_service

    key = f"{churn.name}/churn/predictions/slow.csv"
    files.put(key, csv_rows(5))
    [message] = files.receive()
    client = get_file_ingest_service().store.client

    def slow_down(**kwargs):
        raise ClientError(
            {
                "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                "ResponseMetadata": {"HTTPStatusCode": 503},
            },
            "GetObject",
        )

    client.meta.events.register("before-call.s3.GetObject", slow_down)
    try:
        assert files.deliver([message]) == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    finally:
        client.meta.events.unregister("before-call.s3.GetObject", slow_down)
    assert stored(churn) == 0
    assert files.deliver([message]) == {"batchItemFailures": []}
    assert stored(churn) == 5


# --- other tasks -------------------------------------------------------------------------------
def test_multiclass_scores_and_regression_values(files, api, tenant):
    species = {
        "name": "species",
        "task": "multiclass_classification",
        "labels": ["a", "b", "c"],
        "features": [{"name": "x", "type": "numeric"}],
    }
    price = {"name": "price", "task": "regression", "features": [{"name": "x", "type": "numeric"}]}
    for model in (species, price):
        assert api.post("/v1/models", tenant.api_key, json=model).status == 201
    files.drop(
        f"{tenant.name}/species/predictions/s.csv",
        "prediction_id,timestamp,x,prediction,score_a,score_b,score_c\n"
        "m1,2026-11-01T00:00:00Z,1,b,0.2,0.5,0.3\nm2,2026-11-01T00:00:00Z,2,c,,,\n",
    )
    files.drop(
        f"{tenant.name}/price/predictions/p.csv",
        "prediction_id,timestamp,x,prediction\nr1,2026-11-01T00:00:00Z,1,99.5\n",
    )
    files.drop(f"{tenant.name}/price/ground-truths/g.csv", "prediction_id,label\nr1,101.25\n")
    with tenant.connect() as conn:
        assert conn.execute(
            "SELECT prediction_id, prediction_label, score, scores FROM predictions p "
            "JOIN models m ON m.id = p.model_id WHERE m.name = 'species' ORDER BY 1"
        ).fetchall() == [("m1", "b", None, [0.2, 0.5, 0.3]), ("m2", "c", None, None)]
        assert conn.execute(
            "SELECT prediction_value, label_value FROM predictions JOIN ground_truths USING (model_id, prediction_id)"
        ).fetchall() == [(99.5, 101.25)]


# The one-piece loader stores a file's rows first and claims their keys at the end, sorted (or each time the
# kept keys pass KEYS_KEPT_BYTES); it keeps the ids out of the database until a claim has a conflict (then
# copies them all in), or until they pass IDS_KEPT_BYTES (then copies them as it goes): every way counts the
# stored duplicate once, stores the rest once, and names a repeated row.
@pytest.mark.parametrize("kept_bytes", [None, 1], ids=["all kept to the end", "claimed and copied per chunk"])
@pytest.mark.parametrize("repeat", [False, True], ids=["stored duplicate only", "and a repeat within the file"])
def test_a_stored_duplicate_then_a_repeat_chunks_later(files, churn, monkeypatch, kept_bytes, repeat):
    from seia_files.repository import FileStagingRepository

    if kept_bytes is not None:
        monkeypatch.setattr(FileStagingRepository, "IDS_KEPT_BYTES", kept_bytes)
        monkeypatch.setattr(FileStagingRepository, "KEYS_KEPT_BYTES", kept_bytes)
    files.drop(f"{churn.name}/churn/predictions/seed.csv", csv_rows(5, start=100_000))
    before = churn.snapshot()
    # chunks of 20,000 rows: the first has no conflict; row 25,000 repeats a stored id; row 45,000 repeats row 8
    bad = {25_000: "p100002,2026-11-01T00:00:00Z,1,1,pro,stay,0.5"}
    if repeat:
        bad[45_000] = "p7,2026-11-01T00:00:00Z,1,1,pro,stay,0.5"
    key = f"{churn.name}/churn/predictions/big.csv"
    files.drop(key, csv_rows(50_000, bad=bad))
    result = files.result(key)
    if repeat:
        assert result["status"] == "rejected"
        assert result["errors"] == [
            {"row": 45_000, "column": "prediction_id", "message": "duplicate of row 8 (prediction_id 'p7')"}
        ]
        assert churn.snapshot() == before
    else:
        assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 49_999, 1)
        assert stored(churn) == 5 + 49_999
        assert stored(churn, "prediction_keys") == 5 + 49_999


def test_an_id_the_api_stores_while_the_file_loads_is_a_duplicate_of_the_file_and_kept_once(files, churn, api):
    """The loader stores a file's rows before it claims their keys: a prediction the API stores in between (its
    key claimed and committed first) makes the file's row a duplicate, removed before the file commits."""
    from seia_files.repository import FileStagingRepository

    # the week's leaf exists before the load (a leaf the load made would be the load's until it commits)
    seed = {"records": [data.prediction(99_999)]}
    assert api.post("/v1/models/churn/predictions", churn.api_key, json=seed).status == 202
    real_finish = FileStagingRepository.finish

    def api_writes_first(self, model_id):
        record = data.prediction(30_010, score=0.99)  # row 30,011 of the file, with another score
        assert api.post("/v1/models/churn/predictions", churn.api_key, json={"records": [record]}).status == 202
        return real_finish(self, model_id)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FileStagingRepository, "finish", api_writes_first)
        key = f"{churn.name}/churn/predictions/race.csv"
        files.drop(key, csv_rows(45_000))
    result = files.result(key)
    assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 44_999, 1)
    assert stored(churn) == stored(churn, "prediction_keys") == 1 + 45_000
    with churn.connect() as conn:
        kept = conn.execute("SELECT score FROM predictions WHERE prediction_id = 'p30010'").fetchall()
    assert kept == [(0.99,)]


def test_a_ground_truth_file_with_a_repeated_id_is_rejected(files, churn):
    before = churn.snapshot()
    key = f"{churn.name}/churn/ground-truths/g.csv"
    files.drop(key, "prediction_id,label\n" + "".join(f"g{i},stay\n" for i in range(30_000)) + "g7,churn\n")
    result = files.result(key)
    assert result["status"] == "rejected"
    assert result["errors"][0] == {
        "row": 30_001,
        "column": "prediction_id",
        "message": "duplicate of row 8 (prediction_id 'g7')",
    }
    assert churn.snapshot() == before


def test_an_invocation_emits_the_records_it_accepted_and_logs_each_file_as_json(files, churn, capfd):
    """A loaded file counts its rows in the RecordsAccepted metric (an EMF line among the logs); a rejected
    one counts nothing; both files' log lines carry the tenant, the message and the request."""
    capfd.readouterr()
    files.drop(f"{churn.name}/churn/predictions/good.csv", csv_rows(30))
    files.drop(f"{churn.name}/churn/predictions/bad.csv", "nope\n1\n")
    out, err = capfd.readouterr()

    assert out == ""
    documents = [json.loads(line) for line in err.splitlines() if line.startswith('{"_aws"')]
    assert [d["RecordsAccepted"] for d in documents] == [[30]]
    assert documents[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Seia"

    logs = [json.loads(line) for line in err.splitlines() if line.startswith('{"level"')]
    lines = {
        entry["message"].rsplit("key=", 1)[1]: entry for entry in logs if entry["message"].startswith("file tenant=")
    }
    assert set(lines) >= {f"{churn.name}/churn/predictions/good.csv", f"{churn.name}/churn/predictions/bad.csv"}
    for entry in lines.values():
        assert entry["tenant"] == churn.name and entry["message_id"] and entry["request_id"]
