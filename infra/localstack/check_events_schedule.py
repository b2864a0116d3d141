#!/usr/bin/env python3
"""Check: EventBridge scheduled rule rate(1 minute) -> SQS target on LocalStack.

Usage: python3 infra/localstack/check_events_schedule.py [ROUNDS=1] [TIMEOUT_S]   (LocalStack must be up)
Waits for ROUNDS firings (each delivers to both targets), prints the bodies and the delays.
LocalStack 4.13.1 scheduling (services/events/scheduler.py): one global loop ticks every 59.9 s,
starting when the events service loads; each tick fires every rule whose cron is due within 60 s.
So rate(1 minute) first fires 0-60 s after PutRule (60 s on a fresh LocalStack, where PutRule is
the first events call), then every ~60 s, not aligned to the minute. rate(N minutes) -> cron
"*/N * * * *". This check therefore takes up to ~60 s per round.
Fast alternative for tests, also checked here: a pattern rule + PutEvents delivers to SQS at once.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lscommon import check, client, dump, queue_policy_for, suffix

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60 * rounds + 30
events, sqs = client("events"), client("sqs")
sfx = suffix()
url = sqs.create_queue(QueueName=f"seia-check-sched-{sfx}")["QueueUrl"]
qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
# 1) instant path: EventPattern rule + PutEvents -> SQS
prule = f"seia-check-pattern-{sfx}"
prule_arn = events.put_rule(Name=prule, EventPattern=json.dumps({"source": ["seia.test"]}))["RuleArn"]
events.put_targets(Rule=prule, Targets=[{"Id": "q", "Arn": qarn}])
tp = time.time()
r = events.put_events(Entries=[{"Source": "seia.test", "DetailType": "Scheduled Event", "Detail": "{}"}])
check(r["FailedEntryCount"] == 0, "put_events accepted")
pm = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
check(bool(pm), f"pattern rule + PutEvents delivered in {time.time() - tp:.2f}s")
dump("PutEvents body", json.loads(pm[0]["Body"]))
sqs.delete_message(QueueUrl=url, ReceiptHandle=pm[0]["ReceiptHandle"])
events.remove_targets(Rule=prule, Ids=["q"])
events.delete_rule(Name=prule)

# 2) the real schedule
rule = f"seia-check-drift-{sfx}"
t0 = time.time()
rule_arn = events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)", State="ENABLED")["RuleArn"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy_for(qarn, rule_arn, "events.amazonaws.com")})
events.put_targets(
    Rule=rule,
    Targets=[
        {"Id": "q", "Arn": qarn},
        {"Id": "q-input", "Arn": qarn, "Input": json.dumps({"job": "drift", "window": "1h"})},
    ],
)
print(f"rule {rule_arn} created; waiting up to {timeout:.0f}s for deliveries")

got: list[tuple[float, dict]] = []
while time.time() - t0 < timeout and len(got) < 2 * rounds:
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", []):
        dt = time.time() - t0
        got.append((dt, json.loads(m["Body"])))
        print(f"t={dt:5.1f}s message received")
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
events.remove_targets(Rule=rule, Ids=["q", "q-input"])
events.delete_rule(Name=rule)

check(len(got) >= 2 * rounds, f"scheduled rule delivered ({len(got)} messages in {time.time() - t0:.0f}s)")
plain = [b for _, b in got if "detail-type" in b]
custom = [b for _, b in got if "job" in b]
check(bool(plain), "target without Input gets the Scheduled Event envelope")
dump("Scheduled Event body (target without Input)", plain[0])
check(
    plain[0]["detail-type"] == "Scheduled Event" and plain[0]["source"] == "aws.events",
    "detail-type 'Scheduled Event', source 'aws.events'",
)
check(plain[0].get("resources") == [rule_arn], "resources = [rule ARN]")
check(bool(custom), "target with Input gets the constant Input JSON")
dump("body for target with Input", custom[0])
print("deliveries at " + ", ".join(f"{dt:.1f}s" for dt, _ in got) + " after PutRule")
print("check_events_schedule: PASS")
