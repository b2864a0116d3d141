"""Sends to the fair queues: ten per SendMessageBatch, each message in its tenant's group, failures resent."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from seia.fair_queue import Outgoing, SendFailed, send_all


@pytest.fixture
def sqs(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        yield client, client.create_queue(QueueName="fair")["QueueUrl"]


def receive_all(client, url) -> list[dict]:
    out = []
    while got := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        out += got
        client.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
    return out


def test_every_message_arrives_once_in_its_tenant_s_group(sqs):
    client, url = sqs
    messages = [Outgoing(json.dumps({"tenant": t, "n": i}), t) for i in range(23) for t in ("a", "b")]
    assert send_all(client, url, messages) == 46
    got = receive_all(client, url)
    assert sorted(m["Body"] for m in got) == sorted(m.body for m in messages)
    assert all(m["Attributes"]["MessageGroupId"] == json.loads(m["Body"])["tenant"] for m in got)


def test_a_message_without_a_tenant_has_no_group(sqs):
    client, url = sqs
    send_all(client, url, [Outgoing("{}", None)])
    [got] = receive_all(client, url)
    assert "MessageGroupId" not in got["Attributes"]


class FlakySQS:
    """SQS answering some entries of a batch with a failure (as under throttling), ``fail`` times each."""

    def __init__(self, fail: int):
        self.fail = fail
        self.calls: list[list[str]] = []
        self.delivered: list[str] = []
        self.failures: dict[str, int] = {}

    def send_message_batch(self, QueueUrl, Entries):  # noqa: N803 - boto3's names
        self.calls.append([e["MessageBody"] for e in Entries])
        failed = []
        for e in Entries:
            seen = self.failures.get(e["MessageBody"], 0)
            if e["MessageBody"].startswith("x") and seen < self.fail:
                self.failures[e["MessageBody"]] = seen + 1
                failed.append({"Id": e["Id"], "Code": "ThrottlingException", "SenderFault": False})
            else:
                self.delivered.append(e["MessageBody"])
        return {"Successful": [], "Failed": failed}


def test_entries_refused_inside_a_batch_are_sent_again_alone():
    sqs = FlakySQS(fail=2)
    bodies = ["a", "x1", "b", "x2"]
    assert send_all(sqs, "url", [Outgoing(b, "t") for b in bodies]) == 4
    assert sorted(sqs.delivered) == sorted(bodies)
    assert sqs.calls == [bodies, ["x1", "x2"], ["x1", "x2"]]


def test_entries_still_refused_after_three_tries_raise():
    sqs = FlakySQS(fail=3)
    with pytest.raises(SendFailed, match="refused 1 of 2 messages: ThrottlingException"):
        send_all(sqs, "url", [Outgoing("a", "t"), Outgoing("x", "t")])
