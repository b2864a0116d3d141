"""Bulk files through the router (S3 and SQS from moto, real handlers, real PostgreSQL): the bucket's
notifications land on the intake queue, ``file_ingest_app.route`` re-sends each object to the fair work queue
in its tenant's message group, and ``file_ingest_app.handler`` loads it from there."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import unquote_plus

import boto3
import pytest
from moto import mock_aws

from infra.local.events import LambdaContext, sqs_event
from tests.conftest import reset_process_caches
from tests.integration.test_file_ingest import csv_rows
from tests.support import data

BUCKET = "seia-files"


class Queues:
    def __init__(self):
        self.s3, self.sqs = boto3.client("s3"), boto3.client("sqs")
        self.s3.create_bucket(Bucket=BUCKET)
        self.intake = self.sqs.create_queue(QueueName="seia-files")["QueueUrl"]
        self.work = self.sqs.create_queue(QueueName="seia-files-work")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.intake, AttributeNames=["QueueArn"])["Attributes"]
        self.s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"]}]
            },
        )

    def take(self, url: str) -> list[dict]:
        out = []
        while got := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages"
        ):
            out += got
            self.sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
            )
        return out

    def invoke(self, handler, messages: list[dict]) -> dict:
        event = sqs_event([m["Body"] for m in messages], message_ids=[m["MessageId"] for m in messages])
        return handler(event, LambdaContext("files"))


@pytest.fixture
def queues(settings, monkeypatch):
    from seia_files.routing import _router_for
    from seia_files.service import get_file_ingest_service

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("SEIA_BUCKET", BUCKET)
    with mock_aws():
        reset_process_caches()
        _router_for.cache_clear()
        get_file_ingest_service.cache_clear()
        q = Queues()
        monkeypatch.setenv("SEIA_FILE_WORK_QUEUE_URL", q.work)
        yield q
        if get_file_ingest_service.cache_info().currsize:
            get_file_ingest_service().db.close()
        _router_for.cache_clear()
        get_file_ingest_service.cache_clear()
    reset_process_caches()


def test_each_dropped_file_reaches_the_work_queue_in_its_tenant_s_group_and_is_loaded(queues, api, make_tenant):
    import file_ingest_app

    busy, quiet = make_tenant(), make_tenant()
    for t in (busy, quiet):
        assert api.post("/v1/models", t.api_key, json=data.model()).status == 201
    for i in range(12):
        queues.s3.put_object(Bucket=BUCKET, Key=f"{busy.name}/churn/predictions/{i}.csv", Body=csv_rows(5, 5 * i))
    for i in range(2):
        queues.s3.put_object(Bucket=BUCKET, Key=f"{quiet.name}/churn/predictions/{i}.csv", Body=csv_rows(3, 3 * i))
    queues.s3.put_object(Bucket=BUCKET, Key="stray.csv", Body="x")

    intake = [m for m in queues.take(queues.intake) if "s3:TestEvent" not in m["Body"]]
    for i in range(0, len(intake), 10):
        assert queues.invoke(file_ingest_app.route, intake[i : i + 10]) == {"batchItemFailures": []}
    work = queues.take(queues.work)

    groups = Counter(m["Attributes"].get("MessageGroupId") for m in work)
    assert groups == {busy.name: 12, quiet.name: 2, None: 1}
    for m in work:
        [record] = json.loads(m["Body"])["Records"]
        assert unquote_plus(record["s3"]["object"]["key"]).split("/")[0] == m["Attributes"].get(
            "MessageGroupId", "stray.csv"
        )
    for i in range(0, len(work), 5):  # BatchSize: 5 in the template
        assert queues.invoke(file_ingest_app.handler, work[i : i + 5]) == {"batchItemFailures": []}
    for t, rows in ((busy, 60), (quiet, 6)):
        with t.connect() as conn:
            assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == rows


def test_a_notification_that_is_not_one_is_dropped_by_the_router(queues):
    import file_ingest_app

    reply = queues.invoke(file_ingest_app.route, [{"Body": "not json", "MessageId": "m-1"}])
    assert reply == {"batchItemFailures": []}
    assert queues.take(queues.work) == []


def test_the_router_reports_the_message_when_the_work_queue_refuses_it(queues, monkeypatch):
    import file_ingest_app

    queues.s3.put_object(Bucket=BUCKET, Key="acme/churn/predictions/a.csv", Body="x")
    [message] = [m for m in queues.take(queues.intake) if "s3:TestEvent" not in m["Body"]]
    monkeypatch.setenv("SEIA_FILE_WORK_QUEUE_URL", queues.work + "-missing")
    reply = queues.invoke(file_ingest_app.route, [message])
    assert reply == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
