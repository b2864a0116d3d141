"""The drift fan-out through the functions' handlers (real PostgreSQL, SQS from moto): the schedule sends one
message per tenant from the admin database, the worker turns each into one message per model with work
waiting, and every message is in its tenant's fair-queue group."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from infra.local.events import LambdaContext, sqs_event
from tests.events import load
from tests.support import scenarios

SCHEDULED_EVENT = load("eventbridge_drift_schedule")


@pytest.fixture
def queue(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="seia-drift")["QueueUrl"]
        monkeypatch.setenv("SEIA_DRIFT_QUEUE_URL", url)
        yield sqs, url


@pytest.fixture
def drift_app(settings, queue):
    import drift_app

    for getter in (drift_app.get_databases, drift_app.get_engine, drift_app.get_sqs):
        getter.cache_clear()
    yield drift_app
    if drift_app.get_databases.cache_info().currsize:
        drift_app.get_databases().close()
    for getter in (drift_app.get_databases, drift_app.get_engine, drift_app.get_sqs):
        getter.cache_clear()


def take_all(sqs, url) -> list[dict]:
    """Every message on the queue (received and deleted), with its attributes."""
    out = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages"):
        out += got
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
    return out


def load_models(handle, *names: str) -> None:
    with handle.connect() as conn:
        for seed, name in enumerate(names):
            scenarios.load(conn, name, scenarios.generate("covariate_shift", seed))


def admin_tenants(tenant_admin) -> set[str]:
    with tenant_admin.admin_connection() as conn:
        return {r[0] for r in conn.execute("SELECT name FROM tenants")}


def delete_tenant_row(tenant_admin, name: str) -> None:
    with tenant_admin.admin_connection() as conn:
        conn.execute("DELETE FROM tenants WHERE name = %s", (name,))


def test_the_schedule_sends_each_tenant_once_in_its_group_and_none_for_a_deleted_one(
    drift_app, queue, make_tenant, tenant_admin
):
    sqs, url = queue
    a, b, gone = make_tenant(), make_tenant(), make_tenant()
    delete_tenant_row(tenant_admin, gone.name)

    reply = drift_app.planner(SCHEDULED_EVENT, LambdaContext("planner"))

    messages = take_all(sqs, url)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert reply == {"sent": len(messages)}
    assert sorted(b["tenant"] for b in bodies) == sorted(admin_tenants(tenant_admin))  # each once
    assert {"tenant": a.name} in bodies and {"tenant": b.name} in bodies
    assert {"tenant": gone.name} not in bodies
    assert all(m["Attributes"]["MessageGroupId"] == json.loads(m["Body"])["tenant"] for m in messages)


def test_a_tenant_message_queues_each_model_with_work_waiting_once(drift_app, queue, make_tenant):
    sqs, url = queue
    acme = make_tenant()
    load_models(acme, "fresh", "done", "also-fresh")
    drift_app.get_engine().run(drift_app.get_databases().tenant_named(acme.name), "done")

    event = sqs_event([json.dumps({"tenant": acme.name})], message_ids=["plan-1"])
    assert drift_app.worker(event, LambdaContext("worker")) == {"batchItemFailures": []}

    messages = take_all(sqs, url)
    assert sorted(m["Body"] for m in messages) == sorted(
        json.dumps({"model": model, "tenant": acme.name}) for model in ("also-fresh", "fresh")
    )
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {acme.name}


def test_the_whole_fan_out_plans_every_tenant_and_model_once(drift_app, queue, make_tenant, tenant_admin):
    """Schedule -> one message per tenant -> the worker plans each -> one message per (tenant, model)."""
    sqs, url = queue
    tenants = [make_tenant() for _ in range(3)]
    for i, handle in enumerate(tenants):
        load_models(handle, *[f"m{j}" for j in range(i + 1)])
    gone = make_tenant()
    load_models(gone, "orphan")

    drift_app.planner(SCHEDULED_EVENT, LambdaContext("planner"))
    delete_tenant_row(tenant_admin, gone.name)  # deleted between the schedule and its worker
    plans = take_all(sqs, url)
    for m in plans:
        reply = drift_app.worker(sqs_event([m["Body"]], message_ids=[m["MessageId"]]), LambdaContext("worker"))
        assert reply == {"batchItemFailures": []}
    queued = take_all(sqs, url)

    pairs = [(json.loads(m["Body"])["tenant"], json.loads(m["Body"]).get("model")) for m in queued]
    ours = {t.name for t in tenants}
    assert sorted(p for p in pairs if p[0] in ours) == sorted(
        (t.name, f"m{j}") for i, t in enumerate(tenants) for j in range(i + 1)
    )
    assert len(pairs) == len(set(pairs)) and all(model is not None for _, model in pairs)
    assert gone.name not in {t for t, _ in pairs}
    assert all(m["Attributes"]["MessageGroupId"] == json.loads(m["Body"])["tenant"] for m in queued)


def test_a_tenant_deleted_since_the_schedule_is_not_retried(drift_app, queue):
    sqs, url = queue
    event = sqs_event([json.dumps({"tenant": "no-such-tenant"})], message_ids=["gone"])
    assert drift_app.worker(event, LambdaContext("worker")) == {"batchItemFailures": []}
    assert take_all(sqs, url) == []


def test_planning_leaves_no_connection_to_the_tenant_s_database(drift_app, queue, make_tenant, settings):
    """A worker plans every tenant every few minutes: it must not keep one idle connection per tenant."""
    import psycopg

    acme = make_tenant()
    load_models(acme, "fresh")
    event = sqs_event([json.dumps({"tenant": acme.name})])
    assert drift_app.worker(event, LambdaContext("worker")) == {"batchItemFailures": []}
    with psycopg.connect(settings.database_url) as conn:
        open_ = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (acme.tenant.db_name,)
        ).fetchone()
    assert open_[0] == 0
