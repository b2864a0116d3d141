"""The functions' edges without a database: SQS partial batches, keyed JSON logs, EMF metrics."""

from __future__ import annotations

import json
import logging

import pytest

from infra.local.events import LambdaContext, sqs_event
from seia import telemetry
from seia.batch import process_sqs_batch


def _lines(err: str) -> tuple[list[dict], list[dict]]:
    metrics = [json.loads(line) for line in err.splitlines() if line.startswith('{"_aws"')]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith('{"level"')]
    return metrics, logs


def test_only_the_messages_whose_handler_raised_are_reported():
    def handle(record):
        if record.body == "bad":
            raise ValueError("no")

    event = sqs_event(["ok", "bad", "ok", "bad"], message_ids=["a", "b", "c", "d"])
    assert process_sqs_batch(event, handle) == {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "d"}]}


def test_a_batch_that_failed_entirely_is_reported_not_raised():
    def handle(record):
        raise RuntimeError(record.message_id)

    reply = process_sqs_batch(sqs_event(["x", "y"], message_ids=["x", "y"]), handle)
    assert reply == {"batchItemFailures": [{"itemIdentifier": "x"}, {"itemIdentifier": "y"}]}


@pytest.mark.parametrize("event", [{}, {"Records": []}, None])
def test_an_empty_batch_has_nothing_to_report(event):
    assert process_sqs_batch(event, lambda record: None) == {"batchItemFailures": []}


def test_an_invocation_keys_its_log_lines_and_flushes_its_counts_once(capfd):
    telemetry.setup()
    log = logging.getLogger("seia.unit")
    context = LambdaContext("unit")
    capfd.readouterr()
    with telemetry.invocation(context):
        telemetry.count(telemetry.RECORDS_ACCEPTED, 3)
        with telemetry.keys(message_id="m-1"):
            telemetry.append_keys(tenant="acme")
            log.info("inside")
        telemetry.count(telemetry.RECORDS_ACCEPTED, 4)
        log.info("after the message")
    log.info("after the invocation")
    out, err = capfd.readouterr()
    metrics, logs = _lines(err)
    assert out == ""
    assert [m[telemetry.RECORDS_ACCEPTED] for m in metrics] == [[3, 4]]
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Seia"
    keyed = {
        entry["message"]: (entry.get("request_id"), entry.get("message_id"), entry.get("tenant")) for entry in logs
    }
    assert keyed == {
        "inside": (context.aws_request_id, "m-1", "acme"),
        "after the message": (context.aws_request_id, None, None),
        "after the invocation": (None, None, None),
    }


def test_counts_outside_an_invocation_are_not_recorded(capfd):
    capfd.readouterr()
    telemetry.count(telemetry.ROWS_PROFILED, 10)  # the CLI's drift run: no invocation to flush at
    telemetry.flush()
    assert _lines(capfd.readouterr().err)[0] == []
