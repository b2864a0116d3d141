"""Lambda event payloads, shaped as the AWS services send them (API Gateway v1 proxy, SQS)."""

from __future__ import annotations

import base64
import time
import uuid
from urllib.parse import parse_qs, urlsplit


def api_gateway_event(
    method: str,
    url: str,
    headers: dict | None = None,
    body: bytes | str | None = None,
    resource: str | None = None,
    path_parameters: dict | None = None,
    stage: str = "api",
) -> dict:
    """An API Gateway REST (v1) proxy event, as Lambda receives it."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    headers = dict(headers or {})
    is_base64 = False
    if isinstance(body, bytes):
        raw = body
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw).decode("ascii"), True
    return {
        "resource": resource or parts.path,
        "path": parts.path,
        "httpMethod": method.upper(),
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or parts.path,
            "httpMethod": method.upper(),
            "path": f"/{stage}{parts.path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent")},
            "protocol": "HTTP/1.1",
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def sqs_event(
    bodies: list[str],
    queue_arn: str = "arn:aws:sqs:us-east-1:000000000000:queue",
    receipt_handles: list[str] | None = None,
    message_ids: list[str] | None = None,
    receive_counts: list[int] | None = None,
) -> dict:
    """An SQS event batch, as Lambda's event source mapping delivers it."""
    records = []
    for i, body in enumerate(bodies):
        records.append(
            {
                "messageId": message_ids[i] if message_ids else str(uuid.uuid4()),
                "receiptHandle": receipt_handles[i] if receipt_handles else str(uuid.uuid4()),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_counts[i] if receive_counts else 1),
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "000000000000",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
        )
    return {"Records": records}


class LambdaContext:
    """What the Lambda runtime passes as ``context``."""

    def __init__(self, function_name: str = "local", timeout_s: float = 30.0, memory_mb: int = 512):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def scheduled_event(rule_arn: str, at: float | None = None) -> dict:
    """An EventBridge scheduled event, as a schedule rule delivers it to its target."""
    region, account = rule_arn.split(":")[3:5]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
