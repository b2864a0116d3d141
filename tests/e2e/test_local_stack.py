"""The local stack is built from template.yaml, and the function host behaves as Lambda's SQS poller."""

import json
import secrets
import time

from infra.local import stack, template
from infra.local.functionhost import FunctionHost
from tests.support import handlers
from tests.support.template import load as load_template


def test_localstack_resources_have_the_names_and_wiring_of_the_template(local_stack, aws_env):
    plan, urls = local_stack
    raw = load_template()["Resources"]
    sqs, s3 = stack.client("sqs", aws_env), stack.client("s3", aws_env)

    files = sqs.get_queue_attributes(QueueUrl=urls[f"{plan.stack}-files"], AttributeNames=["All"])["Attributes"]
    assert int(files["VisibilityTimeout"]) == raw["FilesQueue"]["Properties"]["VisibilityTimeout"]
    redrive = json.loads(files["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{plan.stack}-files-dlq")
    assert int(redrive["maxReceiveCount"]) == 5

    (bucket,) = plan.buckets
    assert bucket == f"{plan.stack}-files-000000000000-us-east-1"
    notes = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert [(n["QueueArn"].rsplit(":", 1)[-1], n["Events"]) for n in notes] == [
        (f"{plan.stack}-files", ["s3:ObjectCreated:*"])
    ]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    work = sqs.get_queue_attributes(QueueUrl=urls[f"{plan.stack}-files-work"], AttributeNames=["All"])["Attributes"]
    assert int(work["VisibilityTimeout"]) == raw["FileWorkQueue"]["Properties"]["VisibilityTimeout"]
    assert json.loads(work["RedrivePolicy"])["deadLetterTargetArn"].endswith(f":{plan.stack}-files-dlq")

    consumers = {(c.function, c.queue, c.handler) for c in plan.consumers}
    assert ("FileRouterFunction", f"{plan.stack}-files", "file_ingest_app.route") in consumers
    assert ("FileIngestFunction", f"{plan.stack}-files-work", "file_ingest_app.handler") in consumers
    assert plan.environment["SEIA_BUCKET"] == bucket
    assert plan.environment["SEIA_FILE_WORK_QUEUE_URL"] == urls[f"{plan.stack}-files-work"]


def test_visibility_timeouts_are_six_times_the_consuming_function_timeout():
    raw = load_template()["Resources"]
    assert (
        raw["FilesQueue"]["Properties"]["VisibilityTimeout"] == 6 * raw["FileRouterFunction"]["Properties"]["Timeout"]
    )
    assert (
        raw["FileWorkQueue"]["Properties"]["VisibilityTimeout"]
        == 6 * raw["FileIngestFunction"]["Properties"]["Timeout"]
    )
    assert (
        raw["DriftQueue"]["Properties"]["VisibilityTimeout"] == 6 * raw["DriftWorkerFunction"]["Properties"]["Timeout"]
    )


def test_the_drift_schedule_and_queues_follow_the_template(local_stack, aws_env):
    plan, urls = local_stack
    events, sqs = stack.client("events", aws_env), stack.client("sqs", aws_env)
    (schedule,) = plan.schedules
    rule = events.describe_rule(Name=schedule.rule_name)
    assert rule["ScheduleExpression"] == load_template()["Parameters"]["DriftSchedule"]["Default"] == "rate(5 minutes)"
    (target,) = events.list_targets_by_rule(Rule=schedule.rule_name)["Targets"]
    assert target["Arn"].endswith(":" + schedule.queue)
    drift = sqs.get_queue_attributes(QueueUrl=urls[f"{plan.stack}-drift"], AttributeNames=["All"])["Attributes"]
    assert json.loads(drift["RedrivePolicy"])["deadLetterTargetArn"].endswith(f":{plan.stack}-drift-dlq")
    consumers = {c.function: (c.queue, c.handler, c.report_failures) for c in plan.consumers}
    assert consumers["DriftPlannerFunction"] == (schedule.queue, "drift_app.planner", False)
    assert consumers["DriftWorkerFunction"] == (f"{plan.stack}-drift", "drift_app.worker", True)
    assert plan.environment["SEIA_DRIFT_QUEUE_URL"] == urls[f"{plan.stack}-drift"]


def test_the_host_deletes_successes_redelivers_failures_and_sqs_dead_letters_them(aws_env, monkeypatch):
    monkeypatch.setenv("SEIA_LOCAL_RETRY_SECONDS", "0")
    name = "hosttest" + secrets.token_hex(3)
    plan = template.LocalPlan(stack=name)
    plan.queues[f"{name}-dlq"] = template.Queue("Dlq", f"{name}-dlq", None, None, None, None)
    plan.queues[name] = template.Queue("Q", name, 30, None, f"{name}-dlq", 5)
    plan.consumers.append(template.Consumer("Flaky", "tests.support.handlers.flaky", name, 10, True, 5))
    urls = stack.deploy(plan, aws_env)
    sqs = stack.client("sqs", aws_env)
    handlers.received.clear()
    for i in range(6):
        sqs.send_message(QueueUrl=urls[name], MessageBody=json.dumps({"id": i, "fail": i == 3}))
    host = FunctionHost(plan, urls, aws_env)
    host.start()
    try:
        deadline = time.time() + 60
        dead = []
        while time.time() < deadline and not dead:
            dead = sqs.receive_message(QueueUrl=urls[f"{name}-dlq"], WaitTimeSeconds=1).get("Messages", [])
        assert [json.loads(m["Body"])["id"] for m in dead] == [3]
    finally:
        host.stop()
        stack.teardown(plan, aws_env)
    seen = {}
    for r in handlers.received:
        seen.setdefault(r["id"], []).append(r["count"])
    assert {i: len(c) for i, c in seen.items() if i != 3} == {0: 1, 1: 1, 2: 1, 4: 1, 5: 1}
    assert seen[3] == [1, 2, 3, 4, 5]
