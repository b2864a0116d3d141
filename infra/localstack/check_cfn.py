#!/usr/bin/env python3
"""Check: LocalStack CloudFormation deploys check_cfn_template.yaml and the wiring works.

Usage: python3 infra/localstack/check_cfn.py [--wait-schedule] [--keep]   (LocalStack must be up)
  --wait-schedule  also wait (~60 s) for the scheduled rule to deliver to its queue
  --keep           do not delete the stack at the end
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lscommon import check, client, dump, receive_all, suffix

HERE = os.path.dirname(os.path.abspath(__file__))
cfn, s3, sqs, events, sm = (client(s) for s in ("cloudformation", "s3", "sqs", "events", "secretsmanager"))
sfx = suffix()
stack = f"seia-check-{sfx}"
body = open(os.path.join(HERE, "check_cfn_template.yaml")).read()

t0 = time.time()
cfn.create_stack(StackName=stack, TemplateBody=body, Parameters=[{"ParameterKey": "Suffix", "ParameterValue": sfx}])
try:
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
except Exception as e:  # noqa: BLE001 - any failure: print the stack events
    for ev in cfn.describe_stack_events(StackName=stack)["StackEvents"]:
        print(ev["LogicalResourceId"], ev["ResourceStatus"], ev.get("ResourceStatusReason", ""))
    check(False, f"stack create: {e}")
desc = cfn.describe_stacks(StackName=stack)["Stacks"][0]
check(desc["StackStatus"] == "CREATE_COMPLETE", f"stack CREATE_COMPLETE in {time.time() - t0:.1f}s")
out = {o["OutputKey"]: o["OutputValue"] for o in desc["Outputs"]}
dump("outputs", out)
for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]:
    print(f"  {r['LogicalResourceId']:18} {r['ResourceType']:28} {r['ResourceStatus']:16} {r['PhysicalResourceId']}")

# SQS: redrive policy + queue policy
a = sqs.get_queue_attributes(QueueUrl=out["IngestQueueUrl"], AttributeNames=["All"])["Attributes"]
rp = json.loads(a["RedrivePolicy"])
check(rp["deadLetterTargetArn"] == out["IngestDLQArn"] and int(rp["maxReceiveCount"]) == 5, f"RedrivePolicy {rp}")
check(a.get("VisibilityTimeout") == "60", "VisibilityTimeout 60")
check("s3.amazonaws.com" in a.get("Policy", ""), "queue policy attached")

# S3: notification configuration + versioning + delivery
nc = s3.get_bucket_notification_configuration(Bucket=out["BucketName"])
dump("bucket notification configuration", nc.get("QueueConfigurations"))
check(s3.get_bucket_versioning(Bucket=out["BucketName"]).get("Status") == "Enabled", "versioning enabled")
receive_all(sqs, out["IngestQueueUrl"], 1, timeout=2)  # drop a possible s3:TestEvent
key = "raw/model=a b/x.json"
s3.put_object(Bucket=out["BucketName"], Key=key, Body=b"{}")
s3.put_object(Bucket=out["BucketName"], Key="tmp/ignored.json", Body=b"{}")
msgs = [json.loads(m["Body"]) for m in receive_all(sqs, out["IngestQueueUrl"], 2, timeout=5)]
recs = [r for b in msgs for r in b.get("Records", [])]
check(
    len(recs) == 1 and recs[0]["s3"]["object"]["key"] == "raw/model%3Da%20b/x.json",
    f"S3 -> SQS notification from the CFN bucket (prefix filter honoured): {[r['s3']['object']['key'] for r in recs]}",
)

# Events rule
rule = events.describe_rule(Name=f"seia-cfn-drift-{sfx}")
check(rule["ScheduleExpression"] == "rate(1 minute)" and rule["State"] == "ENABLED", "events rule created")
tg = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
check(len(tg) == 1 and tg[0]["Arn"].endswith(f"seia-cfn-drift-{sfx}"), f"rule target = drift queue: {tg}")

# Secret with generated password
sec = json.loads(sm.get_secret_value(SecretId=out["DbSecretArn"])["SecretString"])
check(sec.get("username") == "seia" and len(sec.get("password", "")) >= 20, "generated secret string")

if "--wait-schedule" in sys.argv:
    got = receive_all(sqs, out["DriftQueueUrl"], 1, timeout=90)
    check(bool(got), f"scheduled rule from CFN delivered after {time.time() - t0:.0f}s")
    dump("scheduled event", json.loads(got[0]["Body"]))

if "--keep" not in sys.argv:
    s3.delete_object(Bucket=out["BucketName"], Key=key)  # versioned bucket: CFN cannot delete non-empty buckets
    for v in s3.list_object_versions(Bucket=out["BucketName"]).get("Versions", []):
        s3.delete_object(Bucket=out["BucketName"], Key=v["Key"], VersionId=v["VersionId"])
    for d in s3.list_object_versions(Bucket=out["BucketName"]).get("DeleteMarkers", []):
        s3.delete_object(Bucket=out["BucketName"], Key=d["Key"], VersionId=d["VersionId"])
    t1 = time.time()
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    check(True, f"stack deleted in {time.time() - t1:.1f}s")
print("check_cfn: PASS")
