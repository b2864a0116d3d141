"""The drift functions as Lambda runs them: the scheduled planner (EventBridge → SQS, moto) and the
queue worker (SQS batch → batchItemFailures), plus the webhook and the `seia drift run` command."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from infra.local.events import LambdaContext, sqs_event
from tests.events import load
from tests.support import scenarios

SCHEDULED_EVENT = load("eventbridge_drift_schedule")


@pytest.fixture
def drift_app(settings):
    import drift_app

    for getter in (drift_app.get_engine, drift_app.get_sqs):
        getter.cache_clear()
    drift_app.get_databases.cache_clear()
    yield drift_app
    if drift_app.get_databases.cache_info().currsize:
        drift_app.get_databases().close()
    for getter in (drift_app.get_databases, drift_app.get_engine, drift_app.get_sqs):
        getter.cache_clear()


def _load(tenant, name, scenario="covariate_shift", seed=0, settings=None):
    with tenant.connect() as conn:
        scenarios.load(conn, name, scenarios.generate(scenario, seed), settings)


def test_the_planner_and_the_worker_queue_a_model_with_new_rows(drift_app, drift_tenant, monkeypatch):
    from moto import mock_aws

    _load(drift_tenant, "planned")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="seia-drift")["QueueUrl"]
        monkeypatch.setenv("SEIA_DRIFT_QUEUE_URL", url)

        def take() -> list[str]:
            bodies = []
            while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                bodies += [m["Body"] for m in got]
                for m in got:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return bodies

        assert drift_app.planner(SCHEDULED_EVENT, LambdaContext())["sent"] >= 1
        plans = take()
        assert json.dumps({"tenant": drift_tenant.name}) in plans
        assert drift_app.worker(sqs_event([json.dumps({"tenant": drift_tenant.name})]), LambdaContext()) == {
            "batchItemFailures": []
        }
        assert {"tenant": drift_tenant.name, "model": "planned"} in [json.loads(b) for b in take()]

    # once the worker has run, the model has nothing left to do
    reply = drift_app.worker(
        sqs_event([json.dumps({"tenant": drift_tenant.name, "model": "planned"})]), LambdaContext()
    )
    assert reply == {"batchItemFailures": []}
    from seia_drift.planner import pending

    assert "planned" not in [m.model for m in pending(drift_app.get_databases()) if m.tenant == drift_tenant.name]


def test_the_worker_takes_the_queue_s_message_shape(drift_app, make_tenant, reader):
    """Given the sample SQS event (tenant "acme", model "churn"), the worker runs that model."""
    acme = make_tenant("acme")
    _load(acme, "churn", "missing_spike", 0)
    assert drift_app.worker(load("sqs_drift_messages"), LambdaContext()) == {"batchItemFailures": []}
    with acme.connect() as conn:
        assert conn.execute("SELECT count(*) FROM incidents WHERE kind = 'data_quality'").fetchone()[0] == 1


def test_the_worker_reports_only_the_failed_messages(drift_app, drift_tenant, reader):
    _load(drift_tenant, "worked", "unit_change", 1)
    event = sqs_event(
        [
            json.dumps({"tenant": drift_tenant.name, "model": "worked"}),
            json.dumps({"tenant": "no-such-tenant", "model": "worked"}),
            "not json",
        ],
        message_ids=["good", "unknown-tenant", "garbage"],
    )
    reply = drift_app.worker(event, LambdaContext())
    # a tenant (or model) that no longer exists has nothing to run: its message is dropped, not redelivered
    # until the dead-letter queue (docs/lifecycle.md); an unreadable message fails
    assert reply == {"batchItemFailures": [{"itemIdentifier": "garbage"}]}
    assert any(a["condition"] == "unit_change" for a in reader.alerts("worked"))


def test_the_same_message_delivered_twice_raises_each_alert_once(drift_app, drift_tenant, reader):
    _load(drift_tenant, "twice", "covariate_shift", 2)
    body = json.dumps({"tenant": drift_tenant.name, "model": "twice"})
    drift_app.worker(sqs_event([body]), LambdaContext())
    first = reader.snapshot("twice")
    drift_app.worker(sqs_event([body, body]), LambdaContext())
    assert reader.snapshot("twice") == first


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_runs_incident_changes_are_posted_to_the_webhook_in_one_message(drift_tenant, engine, reader):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hooks/seia"
        _load(drift_tenant, "hooked", "new_category", 0, {"webhook_url": url})
        engine.run(drift_tenant.tenant, "hooked")
        engine.run(drift_tenant.tenant, "hooked")
    finally:
        server.shutdown()
    alerts = reader.alerts("hooked")
    [message] = _Hook.received  # the second run had nothing new
    assert message["type"] == "incident_changes" and message["model"] == "hooked"
    assert sorted((c["incident"]["id"], c["change"]) for c in message["changes"]) == [
        (a["id"], "opened") for a in alerts
    ]
    quality = next(c["incident"] for c in message["changes"] if c["incident"]["condition"] == "new_category")
    assert quality["subject"] == "c0" and quality["status"] == "open"
    assert (
        quality["top_cause"] == "rows with c0 = 'zeta' went from 0% to 31% of the window (never seen in the reference)"
    )
    mid = reader.model_id("hooked")
    sent = reader.query("SELECT status, attempts FROM deliveries WHERE model_id = %s", (mid,))
    assert sent == [{"status": "sent", "attempts": 1}] * len(alerts)


def test_a_dead_webhook_never_blocks_the_worker(drift_tenant, engine, reader):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connections are refused
    _load(drift_tenant, "dead-hook", "new_category", 1, {"webhook_url": f"http://127.0.0.1:{port}/"})
    report = engine.run(drift_tenant.tenant, "dead-hook")
    assert report["notify"]["failed"] == 1
    assert reader.alerts("dead-hook") and reader.changes("dead-hook")
    mid = reader.model_id("dead-hook")
    # nothing counts as sent: a later run sends every change again (tests/integration/drift/test_delivery.py)
    waiting = reader.query("SELECT status, attempts, last_error FROM deliveries WHERE model_id = %s", (mid,))
    assert waiting == [{"status": "pending", "attempts": 1, "last_error": "NewConnectionError"}] * len(
        reader.changes("dead-hook")
    )


def test_seia_drift_run_runs_the_steps_at_once(drift_tenant, reader, capsys):
    from seia_admin import cli

    _load(drift_tenant, "by-cli", "missing_spike", 3)
    assert cli.main(["drift", "run", "--tenant", drift_tenant.name, "--model", "by-cli"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[drift_tenant.name]["by-cli"]["profile"]["rows"] == 2000
    assert [(a["kind"], a["subject"]) for a in reader.alerts("by-cli") if a["kind"] == "data_quality"] == [
        ("data_quality", "x3")
    ]


def test_a_worker_invocation_emits_its_counts_as_emf_metrics_and_json_logs(drift_app, drift_tenant, reader, capfd):
    """CloudWatch reads the metrics from the EMF line among the logs (stderr); each log line names the
    request, the message, the tenant and the model."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: the webhook's delivery fails
    rows = scenarios.generate("new_category", 1)
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "metered", rows, {"webhook_url": f"http://127.0.0.1:{port}/"})
    capfd.readouterr()
    body = json.dumps({"tenant": drift_tenant.name, "model": "metered"})
    context = LambdaContext("drift-worker")
    assert drift_app.worker(sqs_event([body], message_ids=["m-1"]), context) == {"batchItemFailures": []}
    out, err = capfd.readouterr()
    assert out == ""

    [emf] = [json.loads(line) for line in err.splitlines() if line.startswith('{"_aws"')]
    alerts = reader.alerts("metered")
    assert alerts
    assert emf["RowsProfiled"] == [len(rows.predictions)]
    assert emf["IncidentsOpened"] == [len(alerts)]
    assert emf["DeliveryFailures"] == [1]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Seia" and directive["Dimensions"] == [["service"]]

    logs = [json.loads(line) for line in err.splitlines() if line.startswith('{"level"')]
    steps = [entry for entry in logs if entry["message"].startswith(f"drift {drift_tenant.name}/metered ")]
    assert len(steps) == len(drift_app.get_engine().steps)
    for entry in steps:
        assert entry["level"] == "INFO" and entry["request_id"] == context.aws_request_id
        assert (entry["tenant"], entry["model"], entry["message_id"]) == (drift_tenant.name, "metered", "m-1")


def test_a_failed_message_is_logged_with_its_keys_and_counts_nothing(drift_app, drift_tenant, capfd, monkeypatch):
    from seia_drift.steps.profile import ProfileStep

    _load(drift_tenant, "lost-run", "missing_spike", 4)

    def broken(self, ctx):
        raise ValueError("year 0 is out of range")

    monkeypatch.setattr(ProfileStep, "run", broken)
    capfd.readouterr()
    body = json.dumps({"tenant": drift_tenant.name, "model": "lost-run"})
    reply = drift_app.worker(sqs_event([body], message_ids=["lost"]), LambdaContext())
    assert reply == {"batchItemFailures": [{"itemIdentifier": "lost"}]}
    _, err = capfd.readouterr()
    assert '"_aws"' not in err
    [failed] = [json.loads(line) for line in err.splitlines() if "drift message lost failed" in line]
    assert failed["level"] == "ERROR" and failed["message_id"] == "lost" and failed["tenant"] == drift_tenant.name
    assert "ValueError" in failed["exception"]


def test_a_message_for_a_model_that_no_longer_exists_is_dropped_with_one_log_line(drift_app, drift_tenant, capfd):
    capfd.readouterr()
    body = json.dumps({"tenant": drift_tenant.name, "model": "no-such-model"})
    reply = drift_app.worker(sqs_event([body], message_ids=["gone"]), LambdaContext())
    assert reply == {"batchItemFailures": []}
    _, err = capfd.readouterr()
    [dropped] = [json.loads(line) for line in err.splitlines() if "drift message gone dropped" in line]
    assert dropped["level"] == "INFO" and "no-such-model" in dropped["message"]


def test_seia_drift_run_exits_non_zero_naming_the_failed_model(make_tenant, capsys, monkeypatch):
    from seia_admin import cli
    from seia_drift.steps.profile import ProfileStep

    drift_tenant = make_tenant()  # its own: the run covers every model of the tenant
    _load(drift_tenant, "cli-fails", "missing_spike", 3)
    _load(drift_tenant, "cli-works", "missing_spike", 3)
    real = ProfileStep.run

    def broken(self, ctx):
        if ctx.model.name == "cli-fails":
            raise ValueError("year 0 is out of range")
        return real(self, ctx)

    monkeypatch.setattr(ProfileStep, "run", broken)
    assert cli.main(["drift", "run", "--tenant", drift_tenant.name]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report[drift_tenant.name]["cli-fails"] == {"error": "ValueError: year 0 is out of range"}
    assert report[drift_tenant.name]["cli-works"]["profile"]["rows"] == 2000
    assert f"drift run of {drift_tenant.name}/cli-fails failed: ValueError: year 0 is out of range" in err
    assert "cli-works" not in err
