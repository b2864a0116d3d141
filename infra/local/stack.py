"""Create the template's buckets, queues, SNS topics, notifications and schedules on LocalStack.

Lambda functions cannot run on LocalStack without Docker, so the schedule rules target a local queue
per scheduled function and ``functionhost`` plays the Lambda service's part.
"""

from __future__ import annotations

import json
import os

import boto3
from botocore.config import Config

from infra.local import template as tpl

ENDPOINT = os.environ.get("SEIA_AWS_ENDPOINT", "http://127.0.0.1:4566")


def localstack_answers(endpoint: str = ENDPOINT) -> bool:
    """True when a LocalStack answers at ``endpoint`` (ours, or one another checkout started)."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def aws_environment(endpoint: str = ENDPOINT) -> dict:
    """What boto3 in the handlers and the CLI needs to talk to LocalStack."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": tpl.REGION,
        "AWS_REGION": tpl.REGION,
    }


def client(service: str, endpoint: str = ENDPOINT):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=tpl.REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 3}, connect_timeout=3, read_timeout=30),
    )


def deploy(plan: tpl.LocalPlan, endpoint: str = ENDPOINT) -> dict[str, str]:
    """Create everything in ``plan`` (idempotent); return queue name → URL."""
    sqs, s3, events = client("sqs", endpoint), client("s3", endpoint), client("events", endpoint)
    urls = {}
    # Dead-letter queues first: a redrive policy names an existing queue.
    for q in sorted(plan.queues.values(), key=lambda q: q.dead_letter is not None):
        attributes = {}
        if q.visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(q.visibility_timeout)
        if q.retention is not None:
            attributes["MessageRetentionPeriod"] = str(q.retention)
        if q.dead_letter:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": plan.queue_arn(q.dead_letter), "maxReceiveCount": q.max_receive_count}
            )
        urls[q.name] = sqs.create_queue(QueueName=q.name, Attributes=attributes)["QueueUrl"]
    for b in plan.buckets.values():
        try:
            s3.create_bucket(Bucket=b.name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        if b.versioned:
            s3.put_bucket_versioning(Bucket=b.name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=b.name,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": plan.queue_arn(queue), "Events": list(events_)} for queue, events_ in b.notify_queues
                ]
            },
        )
    sns = client("sns", endpoint)
    for topic in plan.topics:
        sns.create_topic(Name=topic)
    for s in plan.schedules:
        events.put_rule(Name=s.rule_name, ScheduleExpression=s.expression, State="ENABLED")
        target = {"Id": "local-function-host", "Arn": plan.queue_arn(s.queue)}
        if s.input:
            target["Input"] = s.input
        events.put_targets(Rule=s.rule_name, Targets=[target])
    return urls


def teardown(plan: tpl.LocalPlan, endpoint: str = ENDPOINT) -> None:
    sqs, s3, events = client("sqs", endpoint), client("s3", endpoint), client("events", endpoint)
    for s in plan.schedules:
        try:
            events.remove_targets(Rule=s.rule_name, Ids=["local-function-host"])
            events.delete_rule(Name=s.rule_name)
        except events.exceptions.ResourceNotFoundException:
            pass
    for b in plan.buckets.values():
        try:
            paginator = s3.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=b.name):
                items = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if items:
                    s3.delete_objects(Bucket=b.name, Delete={"Objects": items})
            s3.delete_bucket(Bucket=b.name)
        except s3.exceptions.NoSuchBucket:
            pass
    sns = client("sns", endpoint)
    for topic in plan.topics:
        sns.delete_topic(TopicArn=plan.topic_arn(topic))  # idempotent: deleting a missing topic succeeds
    for q in plan.queues.values():
        try:
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=q.name)["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist:
            pass
