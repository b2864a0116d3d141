#!/usr/bin/env python3
"""Check: S3 ObjectCreated notification -> SQS queue on LocalStack.

Usage: python3 infra/localstack/check_s3_sqs.py   (LocalStack must be up: localstack.sh start)
Prints the s3:TestEvent and the ObjectCreated event JSON; exits non-zero on any mismatch.
"""

import json
import os
import sys
from urllib.parse import unquote_plus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lscommon import check, client, dump, queue_policy_for, receive_all, suffix

s3, sqs = client("s3"), client("sqs")
sfx = suffix()
bucket, qname = f"seia-check-{sfx}", f"seia-check-s3-{sfx}"

url = sqs.create_queue(QueueName=qname)["QueueUrl"]
print("queue url:", url)
qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
s3.create_bucket(Bucket=bucket)
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
sqs.set_queue_attributes(
    QueueUrl=url, Attributes={"Policy": queue_policy_for(qarn, f"arn:aws:s3:::{bucket}", "s3.amazonaws.com")}
)
s3.put_bucket_notification_configuration(
    Bucket=bucket,
    NotificationConfiguration={
        "QueueConfigurations": [
            {
                "Id": "raw-ingest",
                "QueueArn": qarn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}},
            }
        ]
    },
)

# AWS sends an s3:TestEvent when the configuration is set
first = receive_all(sqs, url, 1, timeout=3)
if first:
    dump("first message after PutBucketNotificationConfiguration", json.loads(first[0]["Body"]))
test_event = bool(first) and json.loads(first[0]["Body"]).get("Event") == "s3:TestEvent"
print(("YES" if test_event else "NO ") + "  s3:TestEvent delivered on configuration")

key = "raw/model=churn v2/day=2024-01-01/batch 1+x.json"
put = s3.put_object(Bucket=bucket, Key=key, Body=b'{"x": 1}')
s3.put_object(Bucket=bucket, Key="other/ignored.json", Body=b"{}")  # filtered out by prefix
msgs = receive_all(sqs, url, 2, timeout=5)
bodies = [json.loads(m["Body"]) for m in msgs]
bodies = [b for b in bodies if b.get("Event") != "s3:TestEvent"]
check(len(bodies) == 1, f"exactly one ObjectCreated event (prefix filter honoured), got {len(bodies)}")
event = bodies[0]
dump("ObjectCreated event body", event)
rec = event["Records"][0]
obj = rec["s3"]["object"]
check(rec["eventName"] == "ObjectCreated:Put", f"eventName {rec['eventName']!r}")
check(rec["s3"]["bucket"]["name"] == bucket, "bucket name in event")
check(rec["s3"]["configurationId"] == "raw-ingest", "configurationId = notification Id")
print("raw key in event:", obj["key"])
check(obj["key"] != key, "key is URL-encoded in the event (as on AWS)")
# Real AWS form-encodes the key (space -> '+', '=' -> %3D, '+' -> %2B); LocalStack 4.13.1 uses
# %20 for spaces. unquote_plus() decodes both correctly ('+' in a key is always %2B), so use it.
print("space encoded as", "'%20' (LocalStack; AWS uses '+')" if "%20" in obj["key"] else "'+' (as AWS)")
check(unquote_plus(obj["key"]) == key, "unquote_plus(key) gives back the real key")
check(obj["eTag"] == put["ETag"].strip('"'), f"eTag present, unquoted: {obj.get('eTag')}")
check(obj.get("versionId") == put["VersionId"], f"versionId present: {obj.get('versionId')}")
check(obj.get("size") == 8, "size present")
check("sequencer" in obj, "sequencer present")
print("check_s3_sqs: PASS")
