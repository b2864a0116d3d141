"""Delivery end to end on the local stack: schedule -> planner -> worker -> incidents -> the stack's SNS topic
(created from template.yaml on LocalStack) -> an SQS queue subscribed to it, as an operator would subscribe one."""

import json
import time

from infra.local import stack
from tests.events import load as load_event
from tests.support import scenarios


def test_a_new_incident_reaches_an_sqs_queue_subscribed_to_the_deployments_topic(local_stack, aws_env, tenant):
    plan, urls = local_stack
    sqs, sns = stack.client("sqs", aws_env), stack.client("sns", aws_env)
    [topic] = plan.topics
    topic_arn = plan.topic_arn(topic)
    assert plan.environment["SEIA_SNS_TOPIC_ARN"] == topic_arn  # the worker's environment, from the template
    assert topic_arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    inbox = sqs.create_queue(QueueName=f"{plan.stack}-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)

    data = scenarios.generate("new_category", seed=0)
    with tenant.connect() as conn:
        scenarios.load(conn, "churn", data, {"notifications": [{"type": "sns"}]})
    (schedule,) = plan.schedules
    sqs.send_message(QueueUrl=urls[schedule.queue], MessageBody=json.dumps(load_event("eventbridge_drift_schedule")))

    notes = []
    deadline = time.time() + 150
    while time.time() < deadline and not notes:
        got = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
        notes += [json.loads(m["Body"]) for m in got]
    try:
        assert notes, "nothing reached the subscribed queue within 150 s"
        [note] = notes
        body = json.loads(note["Message"])
        assert (body["tenant"], body["model"]) == (tenant.name, "churn")
        assert note["MessageAttributes"]["tenant"]["Value"] == tenant.name
        # The topic may hand the note on before the worker's transaction (which records the delivery) commits.
        sent: list = []
        settle = time.time() + 30
        while not sent and time.time() < settle:
            with tenant.connect() as conn:
                opened = conn.execute("SELECT id FROM incident_changes WHERE change = 'opened' ORDER BY id").fetchall()
                sent = conn.execute("SELECT change_id, status FROM deliveries ORDER BY change_id").fetchall()
            if not sent:
                time.sleep(0.5)
        assert [c["change_id"] for c in body["changes"]] == [i for (i,) in opened]
        assert sent == [(i, "sent") for (i,) in opened]
    finally:
        sqs.delete_queue(QueueUrl=inbox)
