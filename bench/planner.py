"""Planner fan-out at 1,000 tenants × 10 models, each tenant in its own database and role.

Builds the tenants (the first database is migrated as ``seia tenant create`` does, with 10 models each
holding a new row; the others are copies of it, ``CREATE DATABASE ... TEMPLATE``, each owned by its own
login role and listed in the admin database), then measures, on one SQS served by a moto server in a
child process:

- today's design: one process opens every tenant database and lists its models with work waiting,
  serially, then with 8 threads (a connection per tenant, closed after);
- the chosen design: the scheduled planner sends one message per tenant from the admin database alone,
  then 8 concurrent drift workers (the function's code, one message per invocation as ``BatchSize: 1``)
  turn each into one message per pending model: every (tenant, model) queued once, in its tenant's group.

At most ~20 PostgreSQL connections are open at once (8 builders or 8 workers, each with an admin and a
tenant connection). Everything is dropped afterwards (``bench_environment``), with progress.

    python -m bench.planner [--tenants 1000] [--models 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from psycopg import sql

from bench.common import Timer, row

TENANTS = 1000
MODELS = 10
PARALLEL = 8  # builders, planners and workers at once: ~16 PostgreSQL connections
GOAL = "< 10 s"


def _progress(label: str, done: int, total: int, started: float) -> None:
    if sys.stdout.isatty():
        print(f"\r  {label}: {done}/{total} ({time.perf_counter() - started:.0f} s)", end="", flush=True)
    elif done == total or done % max(total // 10, 1) == 0:
        print(f"  {label}: {done}/{total} ({time.perf_counter() - started:.0f} s)", flush=True)


def _parallel(label: str, fn, items) -> list:
    items = list(items)
    started, done, lock, out = time.perf_counter(), 0, threading.Lock(), []

    def one(item):
        nonlocal done
        result = fn(item)
        with lock:
            done += 1
            _progress(label, done, len(items), started)
        return result

    with ThreadPoolExecutor(PARALLEL) as pool:
        out = list(pool.map(one, items))
    if sys.stdout.isatty():
        print(flush=True)
    return out


def build(settings, tenants: int, models: int) -> list[str]:
    """Create the tenants; returns their names."""
    from seia import migrate, naming
    from seia.credentials import get_store
    from seia.db import superuser_connect
    from seia.repositories.admin import ServerRepository, TenantRepository
    from seia.repositories.models import ModelRepository
    from seia.schema import Feature
    from seia.tenancy import TenantAdmin, _hide_catalogs

    admin = TenantAdmin(settings)
    admin.ensure_admin()
    store = get_store(settings)
    prefix = settings.db_prefix
    template_db, template_role = f"{prefix}_planner_template", f"{prefix}_planner_template"
    with superuser_connect(settings) as server:
        server.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(template_role)))
        server.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(template_db), sql.Identifier(template_role))
        )
    with superuser_connect(settings, template_db) as conn:
        migrate.apply(conn, "tenant", role=template_role)
        _hide_catalogs(conn)
        repo = ModelRepository(conn)
        for m in range(models):
            model = repo.insert(f"model-{m}", "binary_classification", [Feature("x", "numeric")], ["no", "yes"], {})
            assert model is not None  # a new database has no model of that name
            conn.execute(
                "INSERT INTO predictions (model_id, prediction_id, ts, num, cat, prediction_label, score)"
                " VALUES (%s, 'p1', now(), ARRAY[1.0], ARRAY[]::text[], 'yes', 0.9)",
                (model.id,),
            )

    with superuser_connect(settings) as server:  # so that REASSIGN OWNED in a copy moves objects inside it only
        server.execute(sql.SQL("ALTER DATABASE {} OWNER TO CURRENT_USER").format(sql.Identifier(template_db)))

    names = [f"p{i:04d}" for i in range(tenants)]

    def create(name: str):
        role, db = naming.tenant_role(prefix, name), naming.tenant_database(prefix, name)
        with superuser_connect(settings) as server:
            server.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(store.create(role))
                )
            )
            server.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                    sql.Identifier(db), sql.Identifier(template_db), sql.Identifier(role)
                )
            )
            server.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(db)))
        with superuser_connect(settings, db) as conn:
            conn.execute(
                sql.SQL("REASSIGN OWNED BY {} TO {}").format(sql.Identifier(template_role), sql.Identifier(role))
            )
        return name, db, role

    created = _parallel("tenant databases created", create, names)
    with admin.admin_connection() as conn, conn.transaction():
        tenant_rows, place = TenantRepository(conn), ServerRepository(conn).least_loaded()
        for name, db, role in created:
            tenant_rows.insert(name, db, role, place.id)
    return names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sqs_endpoint():
    """(endpoint, what it is, process to stop or None): LocalStack when it answers on 127.0.0.1:4566, else a
    moto server in a child process (far slower per call than SQS or LocalStack: its figure is an upper bound)."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:4566/_localstack/health", timeout=1) as reply:
            if json.loads(reply.read()).get("services", {}).get("sqs") in ("running", "available"):
                return "http://127.0.0.1:4566", "LocalStack", None
    except (OSError, ValueError):
        pass
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return f"http://127.0.0.1:{port}", "moto server", proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the moto server did not start")


def _queue_depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def direct(settings, endpoint: str, threads: int) -> tuple[float, int]:
    """Today's design, in one function: open every tenant database (a connection each, closed after), list
    its models with work waiting, then send one message per model (SendMessageBatch, ``threads`` at once)."""
    import boto3

    from seia.fair_queue import Outgoing, send_all
    from seia_drift.db import WorkerDatabases
    from seia_drift.planner import pending_models

    sqs = boto3.client("sqs", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName=f"bench-planner-{uuid.uuid4().hex[:8]}-direct")["QueueUrl"]
    tenants = WorkerDatabases(settings).tenants()
    local = threading.local()
    made: list = []

    def one(tenant) -> list:
        if not hasattr(local, "db"):
            local.db = WorkerDatabases(settings)
            made.append(local.db)
        return pending_models(local.db, tenant)

    try:
        t = Timer()
        with ThreadPoolExecutor(threads) as pool:
            messages = [m for found in pool.map(one, tenants) for m in found]
        send_all(sqs, url, [Outgoing(m.to_json(), m.tenant) for m in messages], concurrency=threads)
        elapsed = t.elapsed
        assert _queue_depth(sqs, url) == len(messages)
    finally:
        for db in made:
            db.close()
        sqs.delete_queue(QueueUrl=url)
    return elapsed, len(messages)


def _warm() -> None:
    """A worker process's cold start, before the clock runs: the drift function's module and its clients."""
    import drift_app

    drift_app.get_sqs()
    drift_app.get_databases()


def _drain(plans: str) -> int:
    """One warm drift worker (its own process, as a Lambda instance): take plan messages until none is left,
    one invocation per message (``BatchSize: 1``); the poller's receive and delete are counted too."""
    import drift_app

    from infra.local.events import LambdaContext, sqs_event

    sqs, done = drift_app.get_sqs(), 0
    while True:
        got = sqs.receive_message(QueueUrl=plans, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            drift_app.get_databases().close()
            return done
        for m in got:
            event = sqs_event([m["Body"]], receipt_handles=[m["ReceiptHandle"]], message_ids=[m["MessageId"]])
            if drift_app.worker(event, LambdaContext("worker"))["batchItemFailures"]:
                raise RuntimeError(f"a plan message failed: {m['Body']}")
        sqs.delete_message_batch(
            QueueUrl=plans, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
        done += len(got)


def fan_out(settings, endpoint: str) -> dict:
    """The chosen design, through the drift functions' handlers: the planner here, the workers in
    ``PARALLEL`` processes of their own (each a warm Lambda instance with its own connections)."""
    import multiprocessing

    import boto3

    os.environ["AWS_ENDPOINT_URL_SQS"] = endpoint
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    run = uuid.uuid4().hex[:8]
    plans = sqs.create_queue(QueueName=f"bench-planner-{run}-plans")["QueueUrl"]
    models = sqs.create_queue(QueueName=f"bench-planner-{run}-models")["QueueUrl"]
    try:
        import drift_app

        from infra.local.events import LambdaContext

        drift_app.get_sqs.cache_clear()
        os.environ["SEIA_DRIFT_QUEUE_URL"] = plans
        t = Timer()
        sent = drift_app.planner({"source": "aws.events"}, LambdaContext("planner"))["sent"]
        planner_s = t.elapsed
        drift_app.get_databases().close()

        os.environ["SEIA_DRIFT_QUEUE_URL"] = models  # the workers' children inherit it
        with multiprocessing.get_context("spawn").Pool(PARALLEL, initializer=_warm) as pool:
            pool.map(time.sleep, [0.5] * PARALLEL, chunksize=1)  # every process started and warm
            t = Timer()
            invocations = sum(pool.map(_drain, [plans] * PARALLEL, chunksize=1))
            workers_s = t.elapsed
        return {
            "plan_messages": sent,
            "planner_s": planner_s,
            "workers_s": workers_s,
            "invocations": invocations,
            "model_messages": _queue_depth(sqs, models),
            "plans_left": _queue_depth(sqs, plans),
            "sample": _groups(sqs, models),
        }
    finally:
        for url in (plans, models):
            sqs.delete_queue(QueueUrl=url)


def _groups(sqs, url: str) -> tuple[int, int]:
    """(messages received in one batch, how many carry MessageGroupId = their body's tenant)."""
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    grouped = sum(1 for m in got if m["Attributes"].get("MessageGroupId") == json.loads(m["Body"])["tenant"])
    return len(got), grouped


def measure(settings, tenants: int = TENANTS, models: int = MODELS) -> None:
    os.environ["SEIA_LOG_LEVEL"] = "WARNING"  # the handlers' JSON lines, one per tenant, would bury the figures
    t = Timer()
    try:
        build(settings, tenants, models)
        row(f"build {tenants:,} tenant databases × {models} models (copies of one)", f"{t.elapsed:.0f} s")
        _measure(settings, tenants, models)
    finally:
        drop(settings)


def drop(settings) -> None:
    """Drop this run's databases (with progress) and roles; bench_environment drops what is left."""
    from seia.db import superuser_connect

    with superuser_connect(settings) as server:
        dbs = [
            r[0]
            for r in server.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                (settings.db_prefix + "%", settings.admin_db),
            )
        ]

    def one(db: str) -> None:
        with superuser_connect(settings) as server:
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))

    _parallel("tenant databases dropped", one, dbs)


def _measure(settings, tenants: int, models: int) -> None:
    for name, value in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ):
        os.environ.setdefault(name, value)
    endpoint, served_by, proc = _sqs_endpoint()
    try:
        serial, found = direct(settings, endpoint, 1)
        row("today: one function lists every tenant database, serially", f"{serial:.1f} s", f"({found:,} messages)")
        threaded, found = direct(settings, endpoint, PARALLEL)
        row(f"today's design with {PARALLEL} threads", f"{threaded:.1f} s", f"({found:,} messages)")
        r = fan_out(settings, endpoint)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"  SQS: {served_by} ({endpoint})", flush=True)
    expected = tenants * models
    row(f"planner: {r['plan_messages']:,} tenant messages (admin database only)", f"{r['planner_s']:.2f} s")
    row(
        f"{PARALLEL} workers: {r['invocations']:,} tenants planned → {r['model_messages']:,} model messages",
        f"{r['workers_s']:.1f} s",
    )
    total = r["planner_s"] + r["workers_s"]
    ok = r["model_messages"] == expected and r["plans_left"] == 0 and r["sample"][0] == r["sample"][1] > 0
    row(f"fan-out {tenants:,} × {models} → every (tenant, model) queued once", f"{total:.1f} s", GOAL)
    print(f"  (load average of this shared machine meanwhile: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if not ok:
        raise RuntimeError(f"fan-out incomplete: {r} (expected {expected} model messages, each in its group)")


def main(argv=None) -> None:
    from bench.common import bench_environment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=TENANTS)
    parser.add_argument("--models", type=int, default=MODELS)
    args = parser.parse_args(argv)
    with bench_environment() as settings:
        measure(settings, args.tenants, args.models)


if __name__ == "__main__":
    main()
