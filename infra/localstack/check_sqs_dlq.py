#!/usr/bin/env python3
"""Check: SQS redrive policy (DLQ, maxReceiveCount) and receive-time VisibilityTimeout on LocalStack.

Usage: python3 infra/localstack/check_sqs_dlq.py [VISIBILITY_TIMEOUT]   (LocalStack must be up)
A message received maxReceiveCount (5) times without deletion must move to the DLQ.
VISIBILITY_TIMEOUT (receive-time, default 0) - measured on LocalStack 4.13.1:
  0 -> the whole cycle takes ~0.6 s; 1 -> ~10 s (each redelivery takes ~2 s, not 1 s).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lscommon import check, client, suffix

MAX_RECEIVES = 5
VT = int(sys.argv[1]) if len(sys.argv) > 1 else 0
sqs = client("sqs")
sfx = suffix()
dlq_url = sqs.create_queue(QueueName=f"seia-check-dlq-{sfx}")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
url = sqs.create_queue(
    QueueName=f"seia-check-main-{sfx}",
    Attributes={
        "VisibilityTimeout": "30",  # queue default is long: receive-time override must win
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}),
    },
)["QueueUrl"]
attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
print("RedrivePolicy as returned:", attrs["RedrivePolicy"])

sqs.send_message(
    QueueUrl=url, MessageBody="poison", MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}}
)

t0 = time.time()
receives = []
deadline = t0 + 30
while time.time() < deadline:
    r = sqs.receive_message(
        QueueUrl=url, VisibilityTimeout=VT, WaitTimeSeconds=0, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )
    for m in r.get("Messages", []):
        n = int(m["Attributes"]["ApproximateReceiveCount"])
        receives.append(n)
        print(f"t={time.time() - t0:4.1f}s receive #{n}")
    if len(receives) >= MAX_RECEIVES:
        # the (MAX+1)th receive attempt is what moves it on AWS; poll the DLQ now
        d = sqs.receive_message(
            QueueUrl=dlq_url, WaitTimeSeconds=0, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
        )
        if d.get("Messages"):
            m = d["Messages"][0]
            print(
                f"t={time.time() - t0:4.1f}s in DLQ: body={m['Body']!r} attrs={m['Attributes']} "
                f"msgattrs={m.get('MessageAttributes')}"
            )
            check(m["Body"] == "poison", "message moved to DLQ with body intact")
            check("kind" in (m.get("MessageAttributes") or {}), "message attributes kept in DLQ")
            break
    time.sleep(0.1)
else:
    check(False, f"message not in DLQ after 30s (receives: {receives})")

check(receives == list(range(1, MAX_RECEIVES + 1)), f"received exactly {MAX_RECEIVES} times: {receives}")
check(
    time.time() - t0 < MAX_RECEIVES * (2 * VT + 1) + 3,
    f"VisibilityTimeout={VT} on receive honoured (queue default is 30s): {time.time() - t0:.1f}s",
)
left = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
check(not left, "source queue empty afterwards")
print(f"check_sqs_dlq: PASS in {time.time() - t0:.1f}s")
