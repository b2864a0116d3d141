"""Two tenants on one fair work queue, as the file router fills it: tenant A drops 2,000 files, then tenant B 5.

Messages go through ``seia.fair_queue`` (each in its tenant's ``MessageGroupId``) to a standard queue on
LocalStack when it answers on 127.0.0.1:4566 (else moto), and a consumer receives 10 at a time, as the
file-ingest function's poller would, keeping the messages in flight. It prints at which receive B's
first file arrives. On AWS, an SQS fair queue hands B's messages out ahead of A's backlog once A holds
most of the messages in flight; an emulator that delivers in arrival order shows B behind all of A.

    python -m bench.fairness [--busy 2000] [--quiet 5]
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
import uuid

from bench.common import Timer, row


def _endpoint() -> tuple[str | None, str]:
    try:
        with urllib.request.urlopen("http://127.0.0.1:4566/_localstack/health", timeout=1) as reply:
            if json.loads(reply.read()).get("services", {}).get("sqs") in ("running", "available"):
                return "http://127.0.0.1:4566", "LocalStack"
    except (OSError, ValueError):
        pass
    return None, "moto"


def measure(busy: int = 2000, quiet: int = 5) -> None:
    import boto3

    from seia.fair_queue import Outgoing, send_all

    for name, value in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ):
        os.environ.setdefault(name, value)
    endpoint, served_by = _endpoint()
    mock = None
    if endpoint is None:
        from moto import mock_aws

        mock = mock_aws()
        mock.start()
    try:
        sqs = boto3.client("sqs", endpoint_url=endpoint)
        url = sqs.create_queue(QueueName=f"bench-fairness-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        try:
            files = [Outgoing(json.dumps({"tenant": "a", "n": i}), "a") for i in range(busy)]
            files += [Outgoing(json.dumps({"tenant": "b", "n": i}), "b") for i in range(quiet)]
            t = Timer()
            send_all(sqs, url, files)
            row(f"{served_by}: {busy:,} files of tenant A, then {quiet} of B, sent", f"{t.elapsed:.1f} s")
            receives, first_b, grouped, seen = 0, None, 0, 0
            while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
                "Messages"
            ):
                receives += 1
                for m in got:
                    seen += 1
                    tenant = json.loads(m["Body"])["tenant"]
                    grouped += m.get("Attributes", {}).get("MessageGroupId") == tenant
                    if tenant == "b" and first_b is None:
                        first_b = receives
            row("messages received carrying their tenant as MessageGroupId", f"{grouped:,} of {seen:,}")
            row(
                "tenant B's first file arrives at receive",
                f"{first_b} of {receives}",
                "(an SQS fair queue: among the first; arrival order: last)",
            )
        finally:
            sqs.delete_queue(QueueUrl=url)
    finally:
        if mock is not None:
            mock.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=2000)
    parser.add_argument("--quiet", type=int, default=5)
    args = parser.parse_args(argv)
    measure(args.busy, args.quiet)


if __name__ == "__main__":
    main()
