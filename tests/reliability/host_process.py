"""The local function host as a process of its own, so that a test can kill -9 it mid-batch.

Usage: python -m tests.reliability.host_process STACK VISIBILITY_SECONDS
(endpoint from SEIA_AWS_ENDPOINT; the queue's visibility timeout stands in for the template's 1800 s,
which is what makes a crashed invocation's messages come back in AWS too).
"""

import logging
import sys
import time

from tests.reliability.stackplan import deploy_plan


def main() -> None:
    import os

    from infra.local.functionhost import FunctionHost

    logging.basicConfig(level=logging.INFO, format="host %(asctime)s %(name)s %(message)s")
    endpoint = os.environ["SEIA_AWS_ENDPOINT"]
    plan, urls = deploy_plan(sys.argv[1], int(sys.argv[2]), endpoint)
    host = FunctionHost(plan, urls, endpoint)
    host.start()
    print("host ready", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
