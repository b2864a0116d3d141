"""Shared helpers for the infra/localstack/check_*.py scripts (boto3 against host LocalStack)."""

import json
import os
import sys
import time
import uuid

import boto3
from botocore.config import Config

ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566")
REGION = "us-east-1"
ACCOUNT = "000000000000"


def client(service):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 2}, connect_timeout=3, read_timeout=30),
    )


def suffix():
    return uuid.uuid4().hex[:8]


def dump(title, obj):
    print(f"--- {title}")
    print(json.dumps(obj, indent=2, default=str, sort_keys=True))


def check(cond, msg):
    """Record a finding; exit non-zero at the first failed expectation."""
    print(("OK   " if cond else "FAIL ") + msg)
    if not cond:
        sys.exit(1)


def receive_all(sqs, url, want, timeout=20, **kw):
    """Receive until `want` messages (deleting them) or timeout; returns list of messages."""
    got, deadline = [], time.time() + timeout
    while len(got) < want and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kw)
        for m in r.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def queue_policy_for(queue_arn, source_arn, principal_service):
    """The queue policy AWS requires for a service (s3/events) to SendMessage."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "allow-" + principal_service.split(".")[0],
                    "Effect": "Allow",
                    "Principal": {"Service": principal_service},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": source_arn}},
                }
            ],
        }
    )
