"""Files in parts (S3 and SQS from moto, the real handler, real PostgreSQL): with ``SEIA_FILE_PART_BYTES``
shrunk, a file is planned into parts, each part is a message on the work queue (here the queue the bucket
notifies, which the handler consumes), parts are staged, checked as one file, published, and one result
object reports the whole file."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from tests.conftest import reset_process_caches
from tests.integration.test_file_ingest import BUCKET, FileDrop, csv_rows, stored
from tests.support import data

STAGING_TABLES = ("file_part_chunks", "file_part_ids")


@pytest.fixture
def churn(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    return tenant


class PartedDrop(FileDrop):
    def drain(self, limit: int = 1000) -> list[dict]:
        """Deliver until the queue is empty; the handler's responses, one per batch."""
        replies = []
        for _ in range(limit):
            messages = self.receive()
            if not messages:
                return replies
            replies.append(self.deliver(messages))
        raise AssertionError("the queue never emptied")

    def part_messages(self) -> list[dict]:
        messages = []
        while got := self.receive():
            messages += got
        return messages


def _drop(settings, monkeypatch, part_bytes: int):
    from seia_files.service import get_file_ingest_service

    monkeypatch.setenv("SEIA_BUCKET", BUCKET)
    monkeypatch.setenv("SEIA_FILE_CHUNK_ROWS", "20000")
    monkeypatch.setenv("SEIA_FILE_PART_BYTES", str(part_bytes))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_process_caches()
    get_file_ingest_service.cache_clear()
    drop = PartedDrop()
    monkeypatch.setenv("SEIA_FILE_WORK_QUEUE_URL", drop.queue)
    if get_file_ingest_service.cache_info().currsize:  # made for the bucket's test event, without the queue
        get_file_ingest_service().db.close()
    get_file_ingest_service.cache_clear()
    return drop


@pytest.fixture
def parted(settings, monkeypatch):
    """A bucket whose files of more than 40 kB are loaded in parts of about 40 kB."""
    from seia_files.service import get_file_ingest_service

    with mock_aws():
        yield _drop(settings, monkeypatch, 40_000)
        if get_file_ingest_service.cache_info().currsize:
            get_file_ingest_service().db.close()
        get_file_ingest_service.cache_clear()
    reset_process_caches()


def staging_left(tenant) -> dict[str, int]:
    return {t: stored(tenant, t) for t in STAGING_TABLES}


def parts_of(tenant) -> list[tuple[int, str, int | None]]:
    with tenant.connect() as conn:
        return conn.execute("SELECT part, state, rows FROM file_parts ORDER BY part").fetchall()


def parquet_bytes(table: pa.Table, row_group_size: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def churn_table(n: int, start: int = 0) -> pa.Table:
    ids = [f"p{i}" for i in range(start, start + n)]
    return pa.table(
        {
            "prediction_id": ids,
            "timestamp": pa.array([1_793_491_200_000_000 + i * 1_000_000 for i in range(n)], pa.timestamp("us", "UTC")),
            "age": [20 + i % 50 for i in range(n)],
            "income": [1000.0 * (i % 90) for i in range(n)],
            "plan": [["free", "pro", "team"][i % 3] for i in range(n)],
            "prediction": ["churn" if i % 4 == 0 else "stay" for i in range(n)],
            "score": [(i % 100) / 100 for i in range(n)],
        }
    )


# --- (1) a file of 1M rows in at least 8 parts ------------------------------------------------------
def test_a_million_row_csv_in_parts_loads_every_row_once_and_one_result_reports_the_file(settings, monkeypatch, churn):
    text = csv_rows(1_000_000)
    with mock_aws():
        files = _drop(settings, monkeypatch, len(text) // 9)
        key = f"{churn.name}/churn/predictions/2026/11/day.csv"
        files.put(key, text)
        replies = files.drain()
        result = files.result(key)
        from seia_files.service import get_file_ingest_service

        get_file_ingest_service().db.close()
        get_file_ingest_service.cache_clear()
    reset_process_caches()

    assert all(r == {"batchItemFailures": []} for r in replies), replies
    parts = parts_of(churn)
    assert len(parts) >= 8
    assert {state for _, state, _ in parts} == {"published"}
    assert sum(rows for _, _, rows in parts) == 1_000_000
    assert (result["status"], result["rows"], result["duplicates"], result["errors"]) == ("loaded", 1_000_000, 0, [])
    with churn.connect() as conn:
        total, distinct, lowest, highest = conn.execute(
            "SELECT count(*), count(DISTINCT prediction_id), min(substr(prediction_id, 2)::int),"
            " max(substr(prediction_id, 2)::int) FROM predictions"
        ).fetchone()
        logged = conn.execute("SELECT count(*), sum(rows) FROM file_ingests").fetchone()
        row = conn.execute("SELECT num, cat FROM predictions WHERE prediction_id = 'p777777'").fetchone()
    assert (total, distinct, lowest, highest) == (1_000_000, 1_000_000, 0, 999_999)
    assert (logged[0], int(logged[1])) == (1, 1_000_000)
    assert row == ([20.0 + 777777 % 50, 1000.0 * (777777 % 90)], [["free", "pro", "team"][777777 % 3]])
    assert staging_left(churn) == {"file_part_chunks": 0, "file_part_ids": 0}


def test_parquet_parts_also_keep_within_the_row_budget(parted, churn, monkeypatch):
    body = parquet_bytes(churn_table(12_000), row_group_size=1_000)
    assert 100_000 < len(body) < 200_000  # two parts by bytes alone
    monkeypatch.setenv("SEIA_FILE_PART_BYTES", "100000")
    monkeypatch.setenv("SEIA_FILE_PART_ROWS", "2500")
    key = f"{churn.name}/churn/predictions/rows.parquet"
    parted.put(key, body)
    parted.drain()
    assert parted.result(key)["rows"] == 12_000
    assert [rows for _, _, rows in parts_of(churn)] == [2000] * 6


def test_a_parquet_file_is_split_at_row_groups_and_loaded_whole(parted, churn):
    body = parquet_bytes(churn_table(12_000), row_group_size=1_000)
    key = f"{churn.name}/churn/predictions/day.parquet"
    parted.put(key, body)
    parted.drain()
    result = parted.result(key)
    assert (result["status"], result["rows"], result["errors"]) == ("loaded", 12_000, [])
    assert len(parts_of(churn)) >= 3
    assert stored(churn) == 12_000


def test_a_jsonl_file_in_parts_counts_duplicates_of_stored_rows_across_parts(parted, churn, api):
    already = [data.prediction(i) for i in (5, 2500, 5999)]
    assert api.post("/v1/models/churn/predictions", churn.api_key, json={"records": already}).status == 202
    lines = [
        json.dumps(
            {
                "prediction_id": f"p{i}",
                "timestamp": "2026-11-01T10:00:00Z",
                "age": i % 70,
                "income": 10.5,
                "plan": "pro",
                "prediction": "stay",
            }
        )
        for i in range(6000)
    ]
    key = f"{churn.name}/churn/predictions/day.jsonl"
    parted.put(key, "\n".join(lines) + "\n")
    parted.drain()
    result = parted.result(key)
    assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 5997, 3)
    assert len(parts_of(churn)) >= 3
    assert stored(churn) == 6000


@pytest.mark.parametrize("staged", ["rows", "wide"])
def test_predictions_parts_are_published_from_the_rows_they_staged(parted, churn, api, monkeypatch, staged):
    """Parts are staged as the COPY streams of predictions and their keys and published by copying them into the
    leaves; parts staged in the wide form (by an earlier version, still queued at a deploy) publish as before."""
    from seia_files import parts
    from seia_files.encoding import CopyEncoder, PredictionRowsEncoder
    from seia_files.repository import FileStagingRepository

    already = [data.prediction(i) for i in (5, 2500)]
    assert api.post("/v1/models/churn/predictions", churn.api_key, json={"records": already}).status == 202
    paths = {"direct": 0, "wide": 0}
    real_direct, real_wide = FileStagingRepository._write_direct, FileStagingRepository.write_staged_predictions

    def direct(self, *args):
        paths["direct"] += 1
        return real_direct(self, *args)

    def wide(self, *args):
        paths["wide"] += 1
        return real_wide(self, *args)

    monkeypatch.setattr(FileStagingRepository, "_write_direct", direct)
    monkeypatch.setattr(FileStagingRepository, "write_staged_predictions", wide)
    if staged == "wide":
        real_init = parts._StagingEncoder.__init__

        def old_staging(self, encoder, file_id, part):
            if isinstance(encoder, PredictionRowsEncoder):
                encoder = CopyEncoder(encoder.layout)
            real_init(self, encoder, file_id, part)

        monkeypatch.setattr(parts._StagingEncoder, "__init__", old_staging)
    key = f"{churn.name}/churn/predictions/staged-{staged}.csv"
    parted.put(key, csv_rows(3000))
    parted.drain()
    result = parted.result(key)
    assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 2998, 2)
    assert len(parts_of(churn)) >= 3
    assert stored(churn) == stored(churn, "prediction_keys") == 3000
    assert staging_left(churn) == {"file_part_chunks": 0, "file_part_ids": 0}
    with churn.connect() as conn:
        row = conn.execute(
            "SELECT num::text, cat::text, prediction_label, score FROM predictions WHERE prediction_id = 'p7'"
        ).fetchone()
    assert row == ("{27,7000}", "{pro}", "stay", 0.07)
    used, unused = ("direct", "wide") if staged == "rows" else ("wide", "direct")
    assert paths[used] >= len(parts_of(churn)) and paths[unused] == 0


def test_ground_truths_in_parts_report_unmatched_labels_for_the_whole_file(parted, churn):
    parted.put(f"{churn.name}/churn/predictions/p.csv", csv_rows(500))
    parted.drain()
    lines = ["prediction_id,label"] + [f"p{i},{'churn' if i % 2 else 'stay'}" for i in range(8000)]
    key = f"{churn.name}/churn/ground-truths/labels.csv"
    parted.put(key, "\n".join(lines) + "\n")
    parted.drain()
    result = parted.result(key)
    assert (result["status"], result["rows"], result["unmatched"]) == ("loaded", 8000, 7500)
    assert stored(churn, "ground_truths") == 8000
    with churn.connect() as conn:
        assert conn.execute("SELECT count(*) FROM file_parts").fetchone()[0] >= 2


# --- (2) parts that disagree: nothing of the file is stored -----------------------------------------
def test_a_bad_row_in_a_late_csv_part_rejects_the_file_with_its_row_in_the_whole_file(parted, churn):
    text = csv_rows(6000, bad={5321: "p-bad,2026-11-01T10:00:00Z,abc,1.0,pro,stay,0.5"})
    key = f"{churn.name}/churn/predictions/late-bad.csv"
    parted.put(key, text)
    parted.drain()
    result = parted.result(key)
    assert result["status"] == "rejected"
    assert result["errors"] == [{"row": 5321, "column": "age", "message": "'abc' is not a number"}]
    assert len(parts_of(churn)) >= 4
    assert stored(churn) == 0
    assert stored(churn, "file_ingests") == 0
    assert staging_left(churn) == {"file_part_chunks": 0, "file_part_ids": 0}


def test_a_late_csv_part_with_a_row_of_more_values_rejects_the_file(parted, churn):
    text = csv_rows(6000, bad={4800: "p-x,2026-11-01T10:00:00Z,30,1.0,pro,stay,0.5,extra"})
    key = f"{churn.name}/churn/predictions/wide.csv"
    parted.put(key, text)
    parted.drain()
    result = parted.result(key)
    assert (result["status"], result["errors"]) == (
        "rejected",
        [{"row": 4800, "column": None, "message": "expected 7 values, found 8"}],
    )
    assert stored(churn) == 0


def test_a_jsonl_part_with_a_column_the_file_does_not_have_rejects_the_file(parted, churn, monkeypatch):
    from seia_files import formats

    # The file's columns come from its first block (as in a one-piece load): make that block a small one.
    monkeypatch.setattr(formats, "JSONL_BLOCK_BYTES", 30_000)

    def line(i: int, extra: bool = False) -> str:
        record = {"prediction_id": f"p{i}", "timestamp": "2026-11-01T10:00:00Z", "age": 3, "income": 1.0}
        record |= {"plan": "pro", "prediction": "stay"} | ({"colour": "red"} if extra else {})
        return json.dumps(record)

    lines = [line(i, extra=i >= 5000) for i in range(6000)]
    key = f"{churn.name}/churn/predictions/drift.jsonl"
    parted.put(key, "\n".join(lines) + "\n")
    parted.drain()
    result = parted.result(key)
    assert result["status"] == "rejected"
    assert result["errors"] == [{"row": None, "column": "colour", "message": "unknown column"}]
    assert stored(churn) == 0


def test_a_parquet_row_group_with_a_bad_value_rejects_the_file_naming_its_row(parted, churn):
    table = churn_table(12_000)
    scores = table.column("score").to_pylist()
    scores[10_500] = 1.5
    table = table.set_column(table.schema.get_field_index("score"), "score", pa.array(scores))
    key = f"{churn.name}/churn/predictions/bad-group.parquet"
    parted.put(key, parquet_bytes(table, row_group_size=1_000))
    parted.drain()
    result = parted.result(key)
    assert result["status"] == "rejected"
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(10_501, "score")]
    assert stored(churn) == 0


def test_a_prediction_id_repeated_in_another_part_rejects_the_file_naming_both_rows(parted, churn):
    text = csv_rows(6000, bad={5900: "p12,2026-11-01T10:00:00Z,30,1.0,pro,stay,0.5"})
    key = f"{churn.name}/churn/predictions/twice.csv"
    parted.put(key, text)
    parted.drain()
    result = parted.result(key)
    assert result["status"] == "rejected"
    assert result["errors"] == [
        {"row": 5900, "column": "prediction_id", "message": "duplicate of row 13 (prediction_id 'p12')"}
    ]
    assert stored(churn) == 0


# --- (3) a part delivered again after its commit ---------------------------------------------------
@pytest.mark.parametrize("step", ["stage", "publish"])
def test_a_part_redelivered_after_its_commit_adds_no_rows(parted, churn, step):
    key = f"{churn.name}/churn/predictions/again-{step}.csv"
    parted.put(key, csv_rows(6000))
    assert parted.deliver() == {"batchItemFailures": []}  # the notification: the plan, the stage messages
    redelivered = 0
    for _ in range(100):
        messages = parted.receive()
        if not messages:
            break
        for m in messages:
            body = json.loads(m["Body"])
            assert parted.deliver([m], delete=False) == {"batchItemFailures": []}
            if body.get("seia_file_part", {}).get("step") == step:
                # Its commit is done; the message comes back, as when the invocation dies before deleting it.
                parted.sqs.change_message_visibility(
                    QueueUrl=parted.queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
                redelivered += 1
            else:
                parted.sqs.delete_message(QueueUrl=parted.queue, ReceiptHandle=m["ReceiptHandle"])
        if redelivered > 20:
            break
    parted.drain()
    result = parted.result(key)
    assert redelivered >= 2
    assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 6000, 0)
    assert stored(churn) == 6000
    assert stored(churn, "file_ingests") == 1


# --- (4) the database full mid-part (down mid-part: tests/reliability/test_faults_file_parts.py) ----------------------
@pytest.mark.parametrize("step", ["stage", "publish"])
def test_the_database_full_mid_part_rolls_the_part_back_and_the_file_completes_once_space_is_back(parted, churn, step):
    # PostgreSQL itself answers "disk full" (SQLSTATE 53100, as when a data file cannot be extended) in the middle of
    # one part: while staging part 2's chunks, or while publishing the row p2500 (a part in the middle of the file).
    with churn.connect() as conn:
        model_id = conn.execute("SELECT id FROM models").fetchone()[0]
        table, when = (
            ("file_part_chunks", "NEW.part = 2")
            if step == "stage"
            else (
                f"prediction_keys_m{model_id}",
                "NEW.prediction_id = 'p2500'",
            )
        )
        conn.execute(
            f"""CREATE FUNCTION seia_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF {when} THEN
                        RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
                    END IF;
                    RETURN NEW;
                END $$"""
        )
        conn.execute(
            f"CREATE TRIGGER disk_full BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION seia_test_disk_full()"
        )
    key = f"{churn.name}/churn/predictions/full-{step}.csv"
    parted.put(key, csv_rows(6000))
    failures = 0
    for _ in range(200):
        messages = parted.receive()
        if not messages:
            break
        reply = parted.deliver(messages)
        failed = {f["itemIdentifier"] for f in reply["batchItemFailures"]}
        if not failed:
            continue
        failures += len(failed)
        # The part's transaction was rolled back: nothing of it is staged (stage), none of its rows is stored
        # (publish: the parts published before it stay, docs/bulk-files.md "Visibility"), nor is the result.
        with churn.connect() as conn:
            if step == "stage":
                assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0
                assert conn.execute("SELECT count(*) FROM file_part_chunks WHERE part = 2").fetchone()[0] == 0
            else:
                failed_part = conn.execute("SELECT part FROM file_part_ids WHERE prediction_id = 'p2500'").fetchone()[0]
                assert (
                    conn.execute(
                        "SELECT count(*) FROM predictions WHERE prediction_id IN "
                        "(SELECT prediction_id FROM file_part_ids WHERE part = %s)",
                        (failed_part,),
                    ).fetchone()[0]
                    == 0
                )
                states = dict(conn.execute("SELECT part, state FROM file_parts").fetchall())
                assert states[failed_part] != "published"
            assert stored(churn, "file_ingests") == 0
            # space is freed
            conn.execute(f"DROP TRIGGER disk_full ON {table}")
            conn.execute("DROP FUNCTION seia_test_disk_full()")
        for m in messages:  # SQS delivers the failed message again
            if m["MessageId"] in failed:
                parted.sqs.change_message_visibility(
                    QueueUrl=parted.queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
    result = parted.result(key)
    assert failures == 1
    assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 6000, 0)
    assert stored(churn) == 6000
    assert stored(churn, "file_ingests") == 1
    assert staging_left(churn) == {t: 0 for t in STAGING_TABLES}


def test_the_notification_delivered_again_after_the_file_loaded_rewrites_its_result_only(parted, churn):
    key = f"{churn.name}/churn/predictions/once.csv"
    parted.put(key, csv_rows(6000))
    [notification] = parted.receive()
    parted.deliver([notification], delete=False)
    parted.drain()
    parted.s3.delete_object(Bucket=BUCKET, Key=f"{churn.name}/churn/_results/predictions/once.csv.json")
    parted.sqs.change_message_visibility(
        QueueUrl=parted.queue, ReceiptHandle=notification["ReceiptHandle"], VisibilityTimeout=0
    )
    parted.drain()
    assert parted.result(key)["rows"] == 6000
    assert stored(churn) == 6000


def test_a_small_file_is_still_loaded_in_one_piece(parted, churn):
    key = f"{churn.name}/churn/predictions/small.csv"
    parted.put(key, csv_rows(100))
    parted.drain()
    assert parted.result(key)["rows"] == 100
    assert parts_of(churn) == []
