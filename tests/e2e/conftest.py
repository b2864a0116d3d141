"""End-to-end fixtures: LocalStack on the host, the template's resources, the local function host."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALSTACK = ROOT / "infra" / "localstack"


def _localstack_up() -> bool:
    from infra.local.stack import localstack_answers

    return localstack_answers()


@pytest.fixture(scope="session")
def localstack():
    """LocalStack at http://127.0.0.1:4566: reused when running (e.g. under `make up`), else started and stopped."""
    started = False
    if not _localstack_up() and os.environ.get("PYTEST_XDIST_WORKER"):
        # Each xdist worker has its own session: the first to start it would stop it under the others.
        pytest.exit("LocalStack is not running on :4566: `make test` starts it before the xdist workers", returncode=3)
    if not _localstack_up():
        subprocess.run(["bash", str(LOCALSTACK / "install.sh")], check=True)
        subprocess.run(["bash", str(LOCALSTACK / "localstack.sh"), "start"], check=True)
        started = True
    yield "http://127.0.0.1:4566"
    if started:
        subprocess.run(["bash", str(LOCALSTACK / "localstack.sh"), "stop"], check=False)


@pytest.fixture
def aws_env(localstack, monkeypatch):
    from infra.local import stack

    for key, value in stack.aws_environment(localstack).items():
        monkeypatch.setenv(key, value)
    return localstack


@pytest.fixture
def local_stack(aws_env, settings, monkeypatch):
    """The template's resources under a stack name of this test's own, and the function host serving them."""
    from infra.local import stack, template
    from infra.local.functionhost import FunctionHost

    monkeypatch.setenv("SEIA_LOCAL_RETRY_SECONDS", "1")
    plan = template.plan("e2e" + secrets.token_hex(3))
    urls = stack.deploy(plan, aws_env)
    for key, value in plan.environment.items():
        monkeypatch.setenv(key, value)
    from tests.conftest import reset_process_caches

    reset_process_caches()  # the handlers' cached services read the environment once per process
    host = FunctionHost(plan, urls, aws_env)
    host.start()
    yield plan, urls
    host.stop()
    stack.teardown(plan, aws_env)
