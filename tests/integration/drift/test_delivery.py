"""Delivery of incident changes to Slack, signed webhooks and SNS: one message per model, channel and run,
retries with backoff across runs, and the state the API shows.

Incidents and their changes are written as the alerts step writes them (migration 0005's tables); only the
notify step runs, as the worker runs it (worker and tenant roles, real PostgreSQL, real HTTP receivers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.receivers import Receiver

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def notify_engine(databases):
    from seia_drift.engine import DriftEngine
    from seia_drift.steps.notify import NotifyStep

    return DriftEngine(databases, steps=[NotifyStep])


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _model(handle, name: str, settings: dict | None = None) -> int:
    from seia.repositories.models import ModelRepository
    from seia.schema import Feature

    with handle.connect() as conn:
        return (
            ModelRepository(conn)
            .insert(
                name,
                "binary_classification",
                [Feature("x1", "numeric"), Feature("c0", "categorical")],
                ["0", "1"],
                settings or {},
            )
            .id
        )


def _incident(handle, model_id: int, subject: str = "x1", severity: str = "medium", cause: str | None = None) -> int:
    with handle.connect() as conn:
        incident = conn.execute(
            """
            INSERT INTO incidents (model_id, kind, subject, condition, reference_key, granularity, status, severity,
                                   peak_severity, first_window_start, last_window_end, windows_flagged, opened_at,
                                   summary, details)
            VALUES (%s, 'feature_drift', %s, 'distribution', 'uploaded', 'day', 'open', %s, %s, %s, %s, 1, now(),
                    %s, '{}'::jsonb) RETURNING id""",
            (model_id, subject, severity, severity, T0, T0 + timedelta(days=1), f"{subject} drifted"),
        ).fetchone()[0]
        if cause is not None:
            conn.execute(
                "INSERT INTO incident_causes (incident_id, rank, feature, segment, score, sentence, details)"
                " VALUES (%s, 1, %s, NULL, 0.9, %s, '{}'::jsonb)",
                (incident, subject, cause),
            )
        return incident


def _change(handle, model_id: int, incident_id: int, change: str = "opened", severity: str = "medium") -> int:
    with handle.connect() as conn:
        return conn.execute(
            "INSERT INTO incident_changes (incident_id, model_id, change, severity, at)"
            " VALUES (%s, %s, %s, %s, now()) RETURNING id",
            (incident_id, model_id, change, severity),
        ).fetchone()[0]


def _opened(handle, model_id: int, n: int, severity: str = "medium", cause: str | None = None) -> list[int]:
    """`n` incidents opened: their change ids."""
    return [
        _change(handle, model_id, _incident(handle, model_id, f"f{i}", severity, cause), "opened", severity)
        for i in range(n)
    ]


def _deliveries(handle, model_id: int) -> list[dict]:
    from psycopg.rows import dict_row

    with handle.connect(row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT * FROM deliveries WHERE model_id = %s ORDER BY channel_type, change_id, created_at", (model_id,)
        ).fetchall()


def _settings(handle, model_id: int, settings: dict) -> None:
    from psycopg.types.json import Jsonb

    with handle.connect() as conn:
        conn.execute("UPDATE models SET settings = %s WHERE id = %s", (Jsonb(settings), model_id))


def _due_now(handle, model_id: int) -> None:
    """Time passes: every delivery waiting for its next attempt is due."""
    with handle.connect() as conn:
        conn.execute(
            "UPDATE deliveries SET next_attempt_at = now() - interval '1 second' WHERE model_id = %s", (model_id,)
        )


# --- Slack -------------------------------------------------------------------------------------------------------
def test_a_run_sends_one_slack_message_per_model_listing_every_change(
    drift_tenant, notify_engine, receiver, monkeypatch
):
    monkeypatch.setenv("SEIA_DASHBOARD_URL", "https://seia.example/dashboard")
    slack = receiver()
    model = _model(drift_tenant, "slacked", {"notifications": [{"type": "slack", "url": slack.url("/services/T/B/x")}]})
    incident = _incident(drift_tenant, model, "x1", "high", cause="the shift of x1 explains 80% of the drop")
    changes = [_change(drift_tenant, model, incident, "opened", "high")]
    changes += _opened(drift_tenant, model, 2)

    report = notify_engine.run(drift_tenant.tenant, "slacked")["notify"]
    assert (report["messages"], report["sent"], report["failed"]) == (1, 3, 0)
    [message] = slack.received
    body = message.json()
    assert body["text"].startswith("3 incident changes on slacked (up to high)")
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "3 incident changes on slacked (up to high)"},
    }
    first = body["blocks"][2]["text"]["text"]
    assert first == (
        "*Opened* · high · feature drift on `x1` (distribution)\n"
        "the shift of x1 explains 80% of the drop\n"
        f"<https://seia.example/dashboard#/models/slacked/alerts/{incident}|Incident #{incident} in the dashboard>"
    )
    assert len([b for b in body["blocks"] if b["type"] == "section"]) == 3

    # the next run has nothing new: no message
    assert notify_engine.run(drift_tenant.tenant, "slacked")["notify"]["messages"] == 0
    assert len(slack.received) == 1
    rows = _deliveries(drift_tenant, model)
    assert [(r["change_id"], r["status"], r["attempts"]) for r in rows] == [(c, "sent", 1) for c in changes]
    assert all(r["sent_at"] is not None and r["channel_label"] == "slack 127.0.0.1" for r in rows)


def test_a_slack_message_of_many_changes_stays_within_slacks_limits(drift_tenant, notify_engine, receiver, monkeypatch):
    monkeypatch.setenv("SEIA_DASHBOARD_URL", "https://seia.example/dashboard")
    slack = receiver()
    model = _model(drift_tenant, "flood", {"notifications": [{"type": "slack", "url": slack.url()}]})
    long_cause = "rows with c0 = '<b>&amp;" + "z" * 5000 + "' moved"
    _opened(drift_tenant, model, 300, cause=long_cause)

    assert notify_engine.run(drift_tenant.tenant, "flood")["notify"]["sent"] == 300
    [message] = slack.received
    body = message.json()
    blocks = body["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(blocks) <= 50 and len(body["text"]) <= 3000
    assert len(blocks[0]["text"]["text"]) <= 150
    assert sections and all(len(t) <= 3000 for t in sections)
    assert sum(len(json.dumps(b)) for b in blocks) <= 14_000
    # user text is escaped, never cut inside an escape, and the changes not shown are counted
    assert "&lt;b&gt;&amp;amp;" in sections[0] and "<b>" not in sections[0]
    assert all(not t.split("\n")[1].rstrip("…").endswith(("&", "&l", "&lt", "&am")) for t in sections)
    more = blocks[-1]["elements"][0]["text"]
    assert more == f"… and {300 - len(sections)} more changes: <https://seia.example/dashboard|see the dashboard>"


# --- signed webhooks ---------------------------------------------------------------------------------------------
def _verify(secret: str, headers: dict, body: bytes, tolerance_s: int = 300) -> bool:
    """The README's recipe, as a receiver would write it."""
    fields = dict(part.split("=", 1) for part in headers["Seia-Signature"].split(","))
    timestamp = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - timestamp) <= tolerance_s


def _signing_secret(tenant: str, capsys) -> str:
    from seia_admin import cli

    capsys.readouterr()
    assert cli.main(["tenant", "signing-secret", tenant]) == 0
    out = capsys.readouterr()
    assert "shown only now" in out.err
    return json.loads(out.out)["signing_secret"]


def test_a_webhook_delivery_is_signed_and_verifies_with_the_documented_recipe(
    drift_tenant, notify_engine, receiver, capsys
):
    hook = receiver()
    model = _model(drift_tenant, "signed", {"notifications": [{"type": "webhook", "url": hook.url(), "name": "ops"}]})
    secret = _signing_secret(drift_tenant.name, capsys)
    [change] = _opened(drift_tenant, model, 1, cause="x1 moved")
    notify_engine.run(drift_tenant.tenant, "signed")

    [got] = hook.received
    assert _verify(secret, got.headers, got.body)
    assert not _verify(secret, got.headers, got.body.replace(b"f0", b"f1"))  # a changed body fails
    body = got.json()
    assert got.headers["Idempotency-Key"] == body["id"] and len(body["id"]) == 32
    assert got.headers["Content-Type"] == "application/json"
    assert (body["type"], body["tenant"], body["model"]) == ("incident_changes", drift_tenant.name, "signed")
    [item] = body["changes"]
    assert (item["change_id"], item["change"], item["incident"]["subject"], item["incident"]["top_cause"]) == (
        change,
        "opened",
        "f0",
        "x1 moved",
    )

    # rotated: the next delivery verifies with the new secret only
    new_secret = _signing_secret(drift_tenant.name, capsys)
    _opened(drift_tenant, model, 1)
    notify_engine.run(drift_tenant.tenant, "signed")
    later = hook.received[1]
    assert _verify(new_secret, later.headers, later.body) and not _verify(secret, later.headers, later.body)
    assert [r["channel_label"] for r in _deliveries(drift_tenant, model)] == ["ops", "ops"]


def test_the_old_webhook_url_is_a_webhook_channel(make_tenant, notify_engine, receiver):
    fresh = make_tenant()  # no signing secret yet: sent unsigned
    hook = receiver()
    model = _model(fresh, "legacy", {"webhook_url": hook.url("/old")})
    _opened(fresh, model, 2)
    assert notify_engine.run(fresh.tenant, "legacy")["notify"]["sent"] == 2
    [got] = hook.received
    assert got.path == "/old" and "Seia-Signature" not in got.headers
    assert [c["incident"]["subject"] for c in got.json()["changes"]] == ["f0", "f1"]


# --- retries -----------------------------------------------------------------------------------------------------
def test_a_failing_receiver_is_retried_with_backoff_across_runs(drift_tenant, notify_engine, receiver):
    from seia_drift.steps import notify

    hook = receiver(status=503)
    model = _model(drift_tenant, "flaky", {"notifications": [{"type": "webhook", "url": hook.url()}]})
    first = _opened(drift_tenant, model, 2)

    report = notify_engine.run(drift_tenant.tenant, "flaky")["notify"]
    assert (report["messages"], report["failed"], report["sent"]) == (1, 1, 0)
    rows = _deliveries(drift_tenant, model)
    assert [(r["status"], r["attempts"], r["last_error"]) for r in rows] == [("pending", 1, "HTTP 503")] * 2
    wait = (rows[0]["next_attempt_at"] - rows[0]["created_at"]).total_seconds()
    assert notify.BACKOFF_BASE_S - 5 <= wait <= notify.BACKOFF_BASE_S + 30

    # while the channel backs off, a run sends nothing, even with a new change waiting
    later = _opened(drift_tenant, model, 1)
    report = notify_engine.run(drift_tenant.tenant, "flaky")["notify"]
    assert (report["messages"], report["waiting"]) == (0, 1) and len(hook.received) == 1

    # the second failure waits twice as long
    _due_now(drift_tenant, model)
    notify_engine.run(drift_tenant.tenant, "flaky")
    with drift_tenant.connect() as conn:
        waits = conn.execute(
            "SELECT change_id, attempts, round(extract(epoch FROM next_attempt_at - now())) FROM deliveries"
            " WHERE model_id = %s ORDER BY change_id",
            (model,),
        ).fetchall()
    assert [(c, a) for c, a, _ in waits] == [(first[0], 2), (first[1], 2), (later[0], 1)]
    assert 2 * notify.BACKOFF_BASE_S - 10 <= waits[0][2] <= 2 * notify.BACKOFF_BASE_S

    # the receiver is back: one message carries all three, each sent once
    hook.status = 200
    _due_now(drift_tenant, model)
    assert notify_engine.run(drift_tenant.tenant, "flaky")["notify"]["sent"] == 3
    assert [c["change_id"] for c in hook.received[-1].json()["changes"]] == first + later
    assert [r["status"] for r in _deliveries(drift_tenant, model)] == ["sent"] * 3
    assert len(hook.received) == 3  # three runs sent, one waited


def test_the_planner_plans_a_model_with_a_retry_due_or_a_change_unseen(make_tenant, notify_engine, receiver):
    """No new rows: the schedule still brings the worker back for a due retry or a user's resolve."""
    from seia_drift.repositories.planning import PlanningRepository

    fresh = make_tenant()
    hook = receiver(status=500)
    model = _model(fresh, "quiet", {"notifications": [{"type": "webhook", "url": hook.url()}]})

    def planned() -> list[str]:
        with fresh.connect() as conn:
            return PlanningRepository(conn).pending_models()

    assert planned() == []
    [change] = _opened(fresh, model, 1)
    assert planned() == ["quiet"]  # a change no run has seen
    notify_engine.run(fresh.tenant, "quiet")  # fails: the retry waits
    assert planned() == []
    _due_now(fresh, model)
    assert planned() == ["quiet"]
    hook.status = 200
    notify_engine.run(fresh.tenant, "quiet")
    assert planned() == [] and [r["status"] for r in _deliveries(fresh, model)] == ["sent"]


def test_a_delivery_gives_up_after_its_attempts(drift_tenant, notify_engine, receiver):
    from seia_drift.steps import notify

    hook = receiver(status=500)
    model = _model(drift_tenant, "hopeless", {"notifications": [{"type": "slack", "url": hook.url()}]})
    _opened(drift_tenant, model, 1)
    for _ in range(notify.MAX_ATTEMPTS + 2):
        notify_engine.run(drift_tenant.tenant, "hopeless")
        _due_now(drift_tenant, model)
    [row] = _deliveries(drift_tenant, model)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", notify.MAX_ATTEMPTS, "HTTP 500")
    assert len(hook.received) == notify.MAX_ATTEMPTS


def test_a_dead_or_hanging_receiver_never_blocks_the_worker(drift_tenant, notify_engine, receiver, monkeypatch):
    import socket

    from seia import egress

    monkeypatch.setattr(egress, "TIMEOUT_S", 0.5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed once the block ends: connections are refused
    hanging = receiver(delay=5)
    model = _model(
        drift_tenant,
        "stuck",
        {
            "notifications": [
                {"type": "webhook", "url": f"http://127.0.0.1:{dead}/"},
                {"type": "slack", "url": hanging.url()},
            ]
        },
    )
    _opened(drift_tenant, model, 1)
    started = time.perf_counter()
    report = notify_engine.run(drift_tenant.tenant, "stuck")["notify"]
    assert time.perf_counter() - started < 4  # both timed out or were refused within the bound
    assert (report["messages"], report["failed"]) == (2, 2)
    errors = {r["channel_type"]: r["last_error"] for r in _deliveries(drift_tenant, model)}
    assert errors == {"slack": "ReadTimeoutError", "webhook": "NewConnectionError"}


def test_a_channel_removed_from_the_settings_drops_its_pending_deliveries(drift_tenant, notify_engine, receiver):
    hook = receiver(status=500)
    model = _model(drift_tenant, "moved", {"notifications": [{"type": "webhook", "url": hook.url()}]})
    _opened(drift_tenant, model, 1)
    notify_engine.run(drift_tenant.tenant, "moved")
    new = receiver()
    _settings(drift_tenant, model, {"notifications": [{"type": "webhook", "url": new.url()}]})
    _due_now(drift_tenant, model)
    report = notify_engine.run(drift_tenant.tenant, "moved")["notify"]
    assert report["dropped"] == 1
    old, now = _deliveries(drift_tenant, model)
    assert (old["status"], old["last_error"]) == ("dropped", "the channel is no longer in the settings")
    # the new channel hears of the last hour's changes
    assert now["status"] == "sent" and [r.json()["changes"][0]["change_id"] for r in new.received] == [now["change_id"]]


def test_a_new_channel_hears_of_the_last_hours_changes_only(drift_tenant, notify_engine, receiver):
    model = _model(drift_tenant, "late-channel")
    old, recent = _opened(drift_tenant, model, 2)
    with drift_tenant.connect() as conn:
        conn.execute("UPDATE incident_changes SET at = now() - interval '2 hours' WHERE id = %s", (old,))
    notify_engine.run(drift_tenant.tenant, "late-channel")  # no channel yet: nothing to deliver
    hook = receiver()
    _settings(drift_tenant, model, {"notifications": [{"type": "webhook", "url": hook.url()}]})
    notify_engine.run(drift_tenant.tenant, "late-channel")
    assert [c["change_id"] for c in hook.received[0].json()["changes"]] == [recent]


# --- the tenant's default -----------------------------------------------------------------------------------------
def test_models_without_channels_use_the_tenants_default(make_tenant, notify_engine, receiver, capsys):
    from seia_admin import cli

    fresh = make_tenant()
    default, own = receiver(), receiver()
    channels = json.dumps([{"type": "webhook", "url": default.url("/default")}])
    assert cli.main(["tenant", "notifications", fresh.name, "--set", channels]) == 0
    assert json.loads(capsys.readouterr().out)["notifications"] == json.loads(channels)
    plain = _model(fresh, "plain")
    custom = _model(fresh, "custom", {"notifications": [{"type": "webhook", "url": own.url("/own")}]})
    _opened(fresh, plain, 1)
    _opened(fresh, custom, 1)
    notify_engine.run(fresh.tenant, "plain")
    notify_engine.run(fresh.tenant, "custom")
    assert [r.json()["model"] for r in default.received] == ["plain"]
    assert [r.json()["model"] for r in own.received] == ["custom"]

    assert cli.main(["tenant", "notifications", fresh.name, "--set", '[{"type": "webhook", "url": "ftp://x"}]']) == 2
    assert "notifications[0].url: must be an https URL" in capsys.readouterr().err


# --- SNS (moto) ----------------------------------------------------------------------------------------------------
@pytest.fixture
def sns_queue(monkeypatch):
    """A moto SNS topic with an SQS queue subscribed (raw delivery off, as an operator would subscribe it)."""
    from moto import mock_aws

    from seia_drift.delivery import send

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    send.sns_client.cache_clear()
    with mock_aws():
        import boto3

        sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="seia-notify-ops")["TopicArn"]
        queue = sqs.create_queue(QueueName="ops")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

        def received() -> list[dict]:
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(m["Body"]) for m in got]

        yield topic, received
    send.sns_client.cache_clear()


def test_an_sns_channel_publishes_one_message_per_run(drift_tenant, notify_engine, sns_queue):
    topic, received = sns_queue
    model = _model(drift_tenant, "paged", {"notifications": [{"type": "sns", "topic_arn": topic}]})
    changes = _opened(drift_tenant, model, 3, severity="high")
    assert notify_engine.run(drift_tenant.tenant, "paged")["notify"]["sent"] == 3
    [note] = received()
    assert note["TopicArn"] == topic and note["Subject"] == "Seia: 3 incident changes on paged (up to high)"
    body = json.loads(note["Message"])
    assert [c["change_id"] for c in body["changes"]] == changes and body["model"] == "paged"
    assert note["MessageAttributes"]["severity"] == {"Type": "String", "Value": "high"}
    assert note["MessageAttributes"]["tenant"]["Value"] == drift_tenant.name


def test_an_sns_message_stays_under_256_kb_and_the_rest_waits_for_the_next_run(drift_tenant, notify_engine, sns_queue):
    topic, received = sns_queue
    model = _model(drift_tenant, "loud", {"notifications": [{"type": "sns", "topic_arn": topic}]})
    changes = _opened(drift_tenant, model, 400, cause="rows with c0 = '" + "z" * 3000 + "' moved")
    reports = [notify_engine.run(drift_tenant.tenant, "loud")["notify"] for _ in range(6)]
    sent = [r["sent"] for r in reports if r["messages"]]
    assert all(r["messages"] <= 1 for r in reports) and sum(sent) == 400 and len(sent) > 1 and sent[0] > 50
    notes = received()
    assert [len(json.loads(n["Message"])["changes"]) for n in notes] == sent
    assert all(len(json.dumps(n).encode()) < 300_000 for n in notes)  # each published message was under 256 KB
    assert [c["change_id"] for n in notes for c in json.loads(n["Message"])["changes"]] == changes


def test_an_sns_channel_without_a_topic_uses_the_deployments(drift_tenant, notify_engine, sns_queue, monkeypatch):
    topic, received = sns_queue
    model = _model(drift_tenant, "deployed", {"notifications": [{"type": "sns"}]})
    _opened(drift_tenant, model, 1)
    monkeypatch.delenv("SEIA_SNS_TOPIC_ARN", raising=False)
    assert notify_engine.run(drift_tenant.tenant, "deployed")["notify"]["failed"] == 1
    [row] = _deliveries(drift_tenant, model)
    assert row["last_error"] == "no topic: the channel names none and SEIA_SNS_TOPIC_ARN is not set"

    monkeypatch.setenv("SEIA_SNS_TOPIC_ARN", topic)
    _due_now(drift_tenant, model)
    assert notify_engine.run(drift_tenant.tenant, "deployed")["notify"]["sent"] == 1
    [note] = received()
    assert json.loads(note["Message"])["model"] == "deployed"


# --- what the API shows ----------------------------------------------------------------------------------------------
def test_the_delivery_state_of_an_incident_as_the_api_reads_it(drift_tenant, notify_engine, receiver):
    from seia.repositories.deliveries import DeliveryRepository

    ok, down = receiver(), receiver(status=502)
    model = _model(
        drift_tenant,
        "shown",
        {
            "notifications": [
                {"type": "slack", "url": ok.url(), "name": "team-slack"},
                {"type": "webhook", "url": down.url()},
            ]
        },
    )
    incident = _incident(drift_tenant, model)
    _change(drift_tenant, model, incident)
    notify_engine.run(drift_tenant.tenant, "shown")
    with drift_tenant.connect() as conn:
        views = DeliveryRepository(conn).for_incident(model, incident)
    assert [(v.channel, v.change, v.status, v.attempts, v.last_error) for v in views] == [
        ("team-slack", "opened", "sent", 1, None),
        ("webhook 127.0.0.1", "opened", "pending", 1, "HTTP 502"),
    ]
    assert views[0].sent_at is not None and views[1].sent_at is None and views[1].next_attempt_at is not None


def test_get_alert_shows_its_deliveries(drift_tenant, notify_engine, receiver, api):
    ok = receiver()
    model = _model(drift_tenant, "api-shown", {"notifications": [{"type": "slack", "url": ok.url("/T/B/secret")}]})
    incident = _incident(drift_tenant, model, cause="x1 moved")
    _change(drift_tenant, model, incident)
    notify_engine.run(drift_tenant.tenant, "api-shown")
    reply = api.get(f"/v1/models/api-shown/alerts/{incident}", drift_tenant.api_key)
    assert reply.status == 200
    [shown] = reply.body["deliveries"]
    assert {k: shown[k] for k in ("channel", "channel_type", "change", "status", "attempts", "last_error")} == {
        "channel": "slack 127.0.0.1",  # never the URL: a Slack URL carries its token
        "channel_type": "slack",
        "change": "opened",
        "status": "sent",
        "attempts": 1,
        "last_error": None,
    }
    assert shown["sent_at"] is not None and "secret" not in reply.raw.decode()


# --- server-side request forgery at send time ----------------------------------------------------------------------
@pytest.fixture
def dns(monkeypatch):
    """Answers for host names, as a DNS server would (the machine has none); a test changes them between calls."""
    from seia import egress

    answers: dict[str, list[str]] = {}
    asked: list[str] = []
    real = egress._resolve

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[host] if host in answers else real(host, port)

    monkeypatch.setattr(egress, "_resolve", resolve)
    return answers, asked


def test_a_name_rebound_to_loopback_after_the_settings_check_is_refused_at_send_time(
    drift_tenant, notify_engine, receiver, dns, api, monkeypatch
):
    answers, _ = dns
    hook = receiver()
    assert api.post("/v1/models", drift_tenant.api_key, json=_api_model("rebound")).status == 201
    monkeypatch.delenv("SEIA_ALLOW_PRIVATE_WEBHOOKS")
    answers["rebind.example"] = ["93.184.216.34"]  # public when the settings are saved
    url = f"http://rebind.example:{hook.port}/hook"
    reply = api.request(
        "PUT",
        "/v1/models/rebound/settings",
        drift_tenant.api_key,
        json_body={"notifications": [{"type": "webhook", "url": url}]},
    )
    assert reply.status == 200
    answers["rebind.example"] = ["127.0.0.1"]  # then rebound to loopback, where the receiver listens
    model = _model_id(drift_tenant, "rebound")
    _opened(drift_tenant, model, 1)
    assert notify_engine.run(drift_tenant.tenant, "rebound")["notify"]["failed"] == 1
    [row] = _deliveries(drift_tenant, model)
    assert row["last_error"] == "refused: host rebind.example resolves to 127.0.0.1, which is loopback"
    assert hook.received == []


def test_the_worker_connects_to_the_address_it_checked_with_the_names_host_header(
    drift_tenant, notify_engine, receiver, dns
):
    answers, asked = dns
    hook = receiver()
    answers["hooks.test"] = ["127.0.0.1"]  # a name no real DNS knows: a second lookup would fail
    model = _model(
        drift_tenant, "pinned", {"notifications": [{"type": "slack", "url": f"http://hooks.test:{hook.port}/x"}]}
    )
    _opened(drift_tenant, model, 1)
    asked.clear()
    assert notify_engine.run(drift_tenant.tenant, "pinned")["notify"]["sent"] == 1
    [got] = hook.received
    assert got.headers["Host"] == f"hooks.test:{hook.port}" and got.path == "/x"
    assert asked.count("hooks.test") == 1  # resolved once, at the check


def test_redirects_are_not_followed(drift_tenant, notify_engine, receiver):
    target = receiver()
    hop = receiver(status=302, location=target.url("/elsewhere"))
    model = _model(drift_tenant, "redirected", {"notifications": [{"type": "webhook", "url": hop.url()}]})
    _opened(drift_tenant, model, 1)
    assert notify_engine.run(drift_tenant.tenant, "redirected")["notify"]["failed"] == 1
    [row] = _deliveries(drift_tenant, model)
    assert row["last_error"] == "HTTP 302 (redirects are not followed)" and target.received == []


def test_a_metadata_url_stored_by_an_older_version_is_never_called(drift_tenant, notify_engine, receiver, monkeypatch):
    """Settings written before these checks (straight into the database) are judged again before any send."""
    from seia import egress

    monkeypatch.delenv("SEIA_ALLOW_PRIVATE_WEBHOOKS")
    model = _model(drift_tenant, "old-meta", {"webhook_url": "http://169.254.169.254/latest/meta-data/"})
    _opened(drift_tenant, model, 1)
    report = notify_engine.run(drift_tenant.tenant, "old-meta")
    assert report["notify"]["channels"] == 0 and _deliveries(drift_tenant, model) == []
    with pytest.raises(egress.Refused, match="link-local"):
        egress.target("http://169.254.169.254/latest/meta-data/")


def _api_model(name: str) -> dict:
    return {
        "name": name,
        "task": "binary_classification",
        "labels": ["0", "1"],
        "features": [{"name": "x1", "type": "numeric"}],
    }


def _model_id(handle, name: str) -> int:
    with handle.connect() as conn:
        return conn.execute("SELECT id FROM models WHERE name = %s", (name,)).fetchone()[0]
