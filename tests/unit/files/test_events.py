"""The edge: SQS records (Powertools' SQSRecord) and the S3 notifications in their bodies."""

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import SQSEvent

from seia_files.events import MalformedMessage, ObjectCreated, objects_created
from tests.events import load


def test_an_sqs_event_becomes_messages_and_object_created_records():
    messages = list(SQSEvent(load("sqs_s3_notifications")).records)
    assert [m.message_id for m in messages] == [
        "059f36b4-87a3-44ab-83d2-661975830a7d",
        "2e1424d4-f796-459a-8184-9c92662be6da",
    ]
    assert objects_created(messages[0].body) == [
        ObjectCreated(
            bucket="seia-files",
            key="acme/churn/predictions/nov 1, 2026 été.csv",  # '+' is a space, %-escapes decoded
            etag="d41d8cd98f00b204e9800998ecf8427e",
            version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
            size=1024,
            event_name="ObjectCreated:Put",
        )
    ]


def test_the_test_event_s3_sends_on_configuration_has_no_objects():
    assert objects_created(json.dumps(load("s3_test_event"))) == []


def test_other_s3_events_are_skipped():
    body = load("s3_object_created")
    body["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert objects_created(json.dumps(body)) == []


def test_a_literal_plus_arrives_escaped():
    body = load("s3_object_created")
    body["Records"][0]["s3"]["object"]["key"] = "acme/churn/predictions/a%2Bb.csv"
    assert objects_created(json.dumps(body))[0].key == "acme/churn/predictions/a+b.csv"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '{"Records": "x"}',
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}',
    ],
)
def test_a_body_that_is_not_an_s3_notification_is_malformed(body):
    with pytest.raises(MalformedMessage):
        objects_created(body)
