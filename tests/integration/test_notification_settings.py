"""The `notifications` setting through the API, and server-side request forgery refused when it is saved.

Each class of address Seia must never call (loopback, private, link-local: the metadata service, unique-local,
multicast, unspecified, the database's host) is refused with the test allowances off, whether the URL names the
address or a host name that resolves to it.
"""

from __future__ import annotations

import pytest

from tests.support import data

PUBLIC = "93.184.216.34"  # a public address (nothing connects to it here: settings are only checked)


@pytest.fixture
def churn(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    return tenant


@pytest.fixture
def strict(monkeypatch):
    """The allowances the tests run with (receivers on http://127.0.0.1) are off."""
    monkeypatch.delenv("SEIA_ALLOW_HTTP_WEBHOOKS", raising=False)
    monkeypatch.delenv("SEIA_ALLOW_PRIVATE_WEBHOOKS", raising=False)


@pytest.fixture
def dns(monkeypatch):
    """Answers for host names, as a DNS server would (the machine has none); other names do not resolve."""
    from seia import egress

    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in answers:
            return answers[host]
        raise OSError(f"{host} does not resolve")

    monkeypatch.setattr(egress, "_resolve", resolve)
    return answers


def _put(api, tenant, body):
    return api.request("PUT", "/v1/models/churn/settings", tenant.api_key, json_body=body)


def test_channels_round_trip_and_the_engine_reads_them(api, churn):
    from seia_drift.settings import DriftSettings

    channels = [
        {"type": "slack", "url": "https://hooks.slack.com/services/T0/B0/xyz", "name": "ml-alerts"},
        {"type": "webhook", "url": f"https://{PUBLIC}/seia"},
        {"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:123456789012:seia-notify-ops"},
        {"type": "sns"},
    ]
    reply = _put(api, churn, {"notifications": channels})
    assert reply.status == 200 and reply.body["settings"] == {"notifications": channels}
    assert DriftSettings.from_model(reply.body["settings"]).notifications == channels
    assert "notifications" not in _put(api, churn, {"notifications": None}).body["settings"]


@pytest.mark.parametrize(
    ("channels", "field", "message"),
    [
        ([{"type": "sms", "url": "https://x.example"}], "notifications[0].type", "must be one of slack, webhook, sns"),
        ([{"type": "slack"}], "notifications[0].url", "must be an https URL of at most 2000 characters"),
        ([{"type": "webhook", "url": "https://x.example", "secret": "s"}], "notifications[0].secret", "unknown field"),
        (
            [{"type": "sns", "topic_arn": "arn:aws:s3:::bucket"}],
            "notifications[0].topic_arn",
            "must be an SNS topic ARN",
        ),
        ([{"type": "sns"}, {"type": "sns"}], "notifications[1]", "the same channel twice"),
        ([{"type": "sns"}] * 11, "notifications", "must be a list of at most 10 channels"),
        ({"type": "sns"}, "notifications", "must be a list of at most 10 channels"),
    ],
)
def test_a_bad_channel_is_400_naming_it(api, churn, channels, field, message):
    before = churn.snapshot()
    reply = _put(api, churn, {"notifications": channels})
    assert reply.status == 400
    assert [(d["field"], d["message"][: len(message)]) for d in reply.error["details"]] == [(field, message)]
    assert churn.snapshot() == before


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/hook", "address 127.0.0.1 is loopback"),
        ("https://[::1]/hook", "address ::1 is loopback"),
        ("https://localhost:8443/hook", "host localhost is loopback"),
        ("https://10.1.2.3/hook", "address 10.1.2.3 is private"),
        ("https://192.168.0.10/hook", "address 192.168.0.10 is private"),
        ("https://172.20.0.1/hook", "address 172.20.0.1 is private"),
        ("https://100.64.0.1/hook", "address 100.64.0.1 is private"),
        ("https://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is link-local"),
        ("https://[fe80::1]/hook", "address fe80::1 is link-local"),
        ("https://[fd12:3456::1]/hook", "address fd12:3456::1 is unique-local"),
        ("https://224.0.0.1/hook", "address 224.0.0.1 is multicast"),
        ("https://[ff02::1]/hook", "address ff02::1 is multicast"),
        ("https://0.0.0.0/hook", "address 0.0.0.0 is unspecified"),
        ("https://[::]/hook", "address :: is unspecified"),
        ("https://[::ffff:127.0.0.1]/hook", "address ::ffff:7f00:1 is loopback"),  # IPv4-mapped
        ("https://2130706433/hook", None),  # an integer host is no address and resolves nowhere here: kept
        (f"http://{PUBLIC}/hook", "must be https (http only with SEIA_ALLOW_HTTP_WEBHOOKS=1)"),
    ],
)
@pytest.mark.parametrize("setting", ["notifications", "webhook_url"])
def test_an_address_seia_must_not_call_is_refused_when_saved(api, churn, strict, dns, url, why, setting):
    body = {setting: [{"type": "webhook", "url": url}] if setting == "notifications" else url}
    reply = _put(api, churn, body)
    if why is None:
        assert reply.status == 200
        return
    field = "notifications[0].url" if setting == "notifications" else "webhook_url"
    assert reply.status == 400
    assert [(d["field"], d["message"][: len(why)]) for d in reply.error["details"]] == [(field, why)]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (["127.0.0.2"], "host hooks.example resolves to 127.0.0.2, which is loopback"),
        ([PUBLIC, "10.0.0.7"], "host hooks.example resolves to 10.0.0.7, which is private"),  # any address counts
        (["169.254.169.254"], "host hooks.example resolves to 169.254.169.254, which is link-local"),
        (["fd00::7"], "host hooks.example resolves to fd00::7, which is unique-local"),
        (["239.1.1.1"], "host hooks.example resolves to 239.1.1.1, which is multicast"),
        (["0.0.0.0"], "host hooks.example resolves to 0.0.0.0, which is unspecified"),
    ],
)
def test_a_host_name_is_judged_by_the_addresses_it_resolves_to(api, churn, strict, dns, answer, why):
    dns["hooks.example"] = answer
    reply = _put(api, churn, {"notifications": [{"type": "slack", "url": "https://hooks.example/services/x"}]})
    assert reply.status == 400 and reply.error["details"][0]["message"][: len(why)] == why


def test_the_databases_host_is_refused(api, churn, strict, dns, monkeypatch):
    dns["db.internal.example"] = [PUBLIC]
    monkeypatch.setenv("SEIA_DB_HOST", "db.internal.example")
    reply = _put(api, churn, {"webhook_url": f"https://{PUBLIC}:8443/x"})
    assert reply.status == 400
    assert reply.error["details"][0]["message"] == f"address {PUBLIC} is the database's host"


def test_with_the_local_allowance_the_databases_own_port_stays_refused(api, churn, settings):
    """Tests and `make up` allow loopback receivers; the database listening there is still out of reach."""
    reply = _put(api, churn, {"webhook_url": f"http://{settings.db_host}:{settings.db_port}/"})
    assert reply.status == 400 and reply.error["details"][0]["message"].endswith("is the database's host")
    assert _put(api, churn, {"webhook_url": f"http://{settings.db_host}:{settings.db_port + 1}/"}).status == 200


def test_a_name_that_does_not_resolve_now_is_kept_for_the_send_time_check(api, churn, strict, dns):
    reply = _put(api, churn, {"notifications": [{"type": "webhook", "url": "https://later.example/hook"}]})
    assert reply.status == 200
