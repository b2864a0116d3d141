"""The local gateway throttles each API key on its own (and the stage as a whole), answering 429 + Retry-After."""

import json

import pytest
from chalice import Chalice

from infra.local.apihost import ApiHost
from infra.local.template import load
from infra.local.throttle import Limits, Throttle

echo = Chalice(app_name="echo")


@echo.route("/things", methods=["GET", "POST"])
def things():
    return {"ok": True}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _host(limits: Limits) -> tuple[ApiHost, Clock]:
    clock = Clock()
    return ApiHost({"EchoFunction": echo}, Throttle(limits, clock=clock)), clock


def _get(host: ApiHost, key: str | None):
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return host.invoke("GET", "/things", headers, None)


KEY_A = "seia_0123456789_" + "a" * 43
KEY_B = "seia_9876543210_" + "b" * 43


def test_a_key_beyond_its_burst_gets_429_with_retry_after_and_other_keys_go_on():
    host, _ = _host(Limits(key_rate=2, key_burst=3, stage_rate=100, stage_burst=100))
    assert [_get(host, KEY_A)[0] for _ in range(3)] == [200, 200, 200]
    status, headers, payload = _get(host, KEY_A)
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert json.loads(payload)["error"]["code"] == "too_many_requests"
    # Another key has its own bucket.
    assert [_get(host, KEY_B)[0] for _ in range(3)] == [200, 200, 200]


def test_retry_after_is_the_wait_for_the_next_token_rounded_up():
    host, clock = _host(Limits(key_rate=0.25, key_burst=1, stage_rate=100, stage_burst=100))
    assert _get(host, KEY_A)[0] == 200
    status, headers, _ = _get(host, KEY_A)
    assert (status, headers["Retry-After"]) == (429, "4")  # one token every 4 s
    clock.now += 3.5
    assert _get(host, KEY_A)[1]["Retry-After"] == "1"  # 0.5 s left, said as 1
    clock.now += 0.5
    assert _get(host, KEY_A)[0] == 200


def test_a_key_refills_at_its_rate():
    host, clock = _host(Limits(key_rate=2, key_burst=2, stage_rate=100, stage_burst=100))
    assert [_get(host, KEY_A)[0] for _ in range(3)] == [200, 200, 429]
    clock.now += 0.5  # one token back at 2 per second
    assert [_get(host, KEY_A)[0] for _ in range(2)] == [200, 429]
    clock.now += 60  # never more than the burst
    assert [_get(host, KEY_A)[0] for _ in range(3)] == [200, 200, 429]


def test_the_stage_bucket_caps_every_key_together_and_requests_without_a_key():
    host, _ = _host(Limits(key_rate=10, key_burst=10, stage_rate=1, stage_burst=4))
    assert [_get(host, k)[0] for k in (KEY_A, KEY_B, None, KEY_A)] == [200, 200, 200, 200]
    assert _get(host, KEY_B)[0] == 429
    assert _get(host, None)[0] == 429


def test_a_request_refused_by_the_stage_does_not_spend_its_keys_token():
    host, clock = _host(Limits(key_rate=0.001, key_burst=1, stage_rate=1, stage_burst=1))
    assert _get(host, KEY_B)[0] == 200  # the stage's only token
    assert _get(host, KEY_A)[0] == 429  # refused by the stage
    clock.now += 1  # the stage refills; A's own token was given back
    assert _get(host, KEY_A)[0] == 200


def test_without_a_throttle_nothing_is_refused():
    host = ApiHost({"EchoFunction": echo})
    assert {_get(host, KEY_A)[0] for _ in range(50)} == {200}


def test_the_local_limits_are_template_yamls():
    params = load()["Parameters"]
    limits = Limits.from_template()
    resources = load()["Resources"]
    assert limits == Limits(
        key_rate=float(params["KeyRateLimit"]["Default"]),
        key_burst=int(params["KeyBurstLimit"]["Default"]),
        stage_rate=float(params["StageRateLimit"]["Default"]),
        stage_burst=int(params["StageBurstLimit"]["Default"]),
        concurrency={
            name: resources[name]["Properties"]["ReservedConcurrentExecutions"]
            for name in (
                "IngestApiFunction",
                "QueryApiFunction",
                "KeyAuthorizerFunction",
                "FileRouterFunction",
                "FileIngestFunction",
                "DriftPlannerFunction",
                "DriftWorkerFunction",
            )
        },
    )
    assert limits.key_burst < limits.stage_burst and limits.key_rate < limits.stage_rate
    # A burst of the whole stage never asks the API functions for more than their reserved concurrency.
    assert limits.stage_burst <= limits.concurrency["IngestApiFunction"] + limits.concurrency["QueryApiFunction"]


def test_a_function_at_its_concurrency_answers_429_until_an_execution_ends():
    limits = Limits(key_rate=100, key_burst=100, stage_rate=100, stage_burst=100, concurrency={"EchoFunction": 2})
    throttle = Throttle(limits)
    host = ApiHost({"EchoFunction": echo}, throttle)
    assert throttle.enter("EchoFunction") and throttle.enter("EchoFunction")  # two requests running
    status, headers, payload = _get(host, KEY_A)
    assert (status, headers["Retry-After"]) == (429, "1")
    assert "EchoFunction is running all its 2 executions" in json.loads(payload)["error"]["message"]
    throttle.leave("EchoFunction")
    assert _get(host, KEY_A)[0] == 200
    assert _get(host, KEY_A)[0] == 200  # its own execution was given back


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", ""])
def test_requests_without_a_bearer_key_share_the_stage_bucket_only(header):
    host, _ = _host(Limits(key_rate=0.001, key_burst=1, stage_rate=100, stage_burst=100))
    statuses = [host.invoke("GET", "/things", {"authorization": header}, None)[0] for _ in range(5)]
    assert statuses == [200] * 5
