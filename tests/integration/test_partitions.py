"""Raw rows in partitions (tenant migration 0009, seia.partitions): late and far-future rows, retention by
dropping partitions, expired labels, duplicates across partitions, and the migration of a filled database."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from tests.integration.test_file_ingest import FileDrop, files  # noqa: F401 - the files fixture
from tests.support import data

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def churn(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    return tenant


def _records(days: list[int], prefix: str = "p", hour: int = 10) -> dict:
    """One prediction per entry, `days` days before now (negative: in the future)."""
    out = []
    for i, d in enumerate(days):
        rec = data.prediction(i)
        rec["prediction_id"] = f"{prefix}{i}"
        rec["timestamp"] = (NOW - timedelta(days=d)).replace(hour=hour).isoformat()
        out.append(rec)
    return {"records": out}


def _leaves(tenant, table: str = "predictions") -> list[str]:
    with tenant.connect() as conn:
        rows = conn.execute(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               JOIN pg_class p ON p.oid = i.inhparent
               WHERE p.relname LIKE %s AND c.relkind = 'r' ORDER BY 1""",
            (f"{table}\\_m%",),
        ).fetchall()
    return [r[0] for r in rows]


def _maintain(settings, tenant, now: datetime | None = None):
    """The planner's pass over the tenant, as the worker runs it (the tenant's own role)."""
    from seia_drift.db import WorkerDatabases
    from seia_drift.planner import maintain_partitions

    databases = WorkerDatabases(settings)
    try:
        with databases.tenant(tenant.tenant) as conn:
            maintain_partitions(conn, tenant.name, now)
            conn.commit()
    finally:
        databases.close()


def _put(api, tenant, body):
    return api.request("PUT", "/v1/models/churn/settings", tenant.api_key, json_body=body)


def _count(tenant, query: str, params=()) -> int:
    with tenant.connect() as conn:
        return conn.execute(query, params).fetchone()[0]


# -- late and far-future rows ------------------------------------------------------------------
def test_late_and_far_future_rows_are_stored_in_partitions_made_on_demand(api, churn):
    body = _records([0, 3 * 365, 2 * 365 + 40, -20 * 365, -150 * 365])
    reply = api.post("/v1/models/churn/predictions", churn.api_key, json=body)
    assert reply.status == 202 and reply.body == {"accepted": 5, "duplicates": 0}
    with churn.connect() as conn:
        stored = dict(conn.execute("SELECT prediction_id, tableoid::regclass::text FROM predictions").fetchall())
        ranges = conn.execute(
            "SELECT relname, ends - starts FROM raw_partitions WHERE parent_table = 'predictions'"
        ).fetchall()
    assert sorted(stored) == ["p0", "p1", "p2", "p3", "p4"]
    # near today one week per leaf, far from it one year; every row sits in a leaf of its model
    spans = dict(ranges)
    assert spans[stored["p0"]] == timedelta(days=7)
    assert spans[stored["p1"]] >= timedelta(days=365) and spans[stored["p4"]] >= timedelta(days=365)
    assert all(leaf.startswith("predictions_m") for leaf in stored.values())
    assert len(set(stored.values())) == 5


def test_new_models_have_partitions_ready_ahead(api, churn):
    leaves = _leaves(churn)
    with churn.connect() as conn:
        last = conn.execute("SELECT max(ends) FROM raw_partitions WHERE parent_table = 'predictions'").fetchone()[0]
    assert len(leaves) >= 2 and last >= NOW + timedelta(days=14)


# -- duplicates ------------------------------------------------------------------------------------
def test_a_duplicate_is_caught_in_another_partition_within_the_horizon(api, churn, files):  # noqa: F811
    first = api.post("/v1/models/churn/predictions", churn.api_key, json=_records([40], prefix="d"))
    assert first.body == {"accepted": 1, "duplicates": 0}
    # the same prediction_id with a timestamp five weeks later: another partition, still a duplicate
    again = api.post("/v1/models/churn/predictions", churn.api_key, json=_records([5], prefix="d"))
    assert again.body == {"accepted": 0, "duplicates": 1}
    # and in a file
    ts = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = "prediction_id,timestamp,age,income,plan,prediction,score\n"
    text += f"d0,{ts},30,1.0,pro,stay,0.2\nnew1,{ts},31,2.0,pro,stay,0.3\n"
    files.drop(f"{churn.name}/churn/predictions/dup.csv", text)
    result = files.result(f"{churn.name}/churn/predictions/dup.csv")
    assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 1, 1)
    assert _count(churn, "SELECT count(*) FROM predictions WHERE prediction_id = 'd0'") == 1
    with churn.connect() as conn:
        (leaf,) = conn.execute("SELECT tableoid::regclass::text FROM predictions WHERE prediction_id = 'd0'").fetchone()
    day = (NOW - timedelta(days=40)).date()
    assert leaf.endswith("_" + (day - timedelta(days=day.weekday())).strftime("%Y%m%d"))


# -- retention -----------------------------------------------------------------------------------
def test_retention_drops_whole_partitions_and_old_windows_still_answer(api, churn, settings):
    from seia_drift.commands import run_drift

    days = [200, 199, 120, 60, 30, 2, 1]
    assert api.post("/v1/models/churn/predictions", churn.api_key, json=_records(days)).status == 202
    labels = [{"prediction_id": f"p{i}", "label": "churn"} for i in range(len(days))]
    assert api.post("/v1/models/churn/ground-truths", churn.api_key, json={"records": labels}).status == 202
    run_drift(settings, churn.name, "churn")
    window = (NOW - timedelta(days=200)).strftime("%Y-%m-%dT00:00:00Z")
    drift_before = api.get(f"/v1/models/churn/drift?from={window}", churn.api_key)
    perf_before = api.get(f"/v1/models/churn/performance?from={window}", churn.api_key)
    assert drift_before.status == 200 and perf_before.status == 200
    before = _leaves(churn)

    reply = _put(api, churn, {"retention_days": 45})
    assert reply.status == 200 and reply.body["settings"]["retention_days"] == 45
    _maintain(settings, churn)

    after = _leaves(churn)
    cutoff = NOW - timedelta(days=45)
    with churn.connect() as conn:
        kept = [r[0] for r in conn.execute("SELECT prediction_id FROM predictions ORDER BY ts").fetchall()]
        horizon = conn.execute("SELECT horizon FROM raw_horizons").fetchone()[0]
        keys = conn.execute("SELECT count(*) FROM prediction_keys WHERE ts < %s", (horizon,)).fetchone()[0]
    # the leaves that ended before the cutoff are gone (dropped, not emptied); the others are the same tables
    assert set(after) < set(before) and len(before) - len(after) >= 3
    assert kept == ["p4", "p5", "p6"]  # p3 (60 days) sat in a leaf that ended before the cutoff
    assert horizon <= cutoff and keys == 0
    # sketches, results and windows stay: /drift and /performance answer as before for the old windows
    assert api.get(f"/v1/models/churn/drift?from={window}", churn.api_key).body == drift_before.body
    assert api.get(f"/v1/models/churn/performance?from={window}", churn.api_key).body == perf_before.body


def test_retention_of_one_day_on_a_year_of_rows_drops_in_bounded_batches_while_the_api_answers(api, churn, settings):
    from seia import partitions

    days = list(range(365, 0, -1))
    assert api.post("/v1/models/churn/predictions", churn.api_key, json=_records(days)).status == 202
    assert _put(api, churn, {"retention_days": 1}).status == 200
    total = len(_leaves(churn))
    assert total >= 53

    # A reader in the middle of a long transaction on the model's rows: the drop waits LOCK_TIMEOUT, gives up,
    # and leaves everything for the next plan instead of queueing every other reader behind it.
    with churn.connect() as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM predictions").fetchone()
        started = time.monotonic()
        _maintain(settings, churn)
        waited = time.monotonic() - started
        assert len(_leaves(churn)) == total
        reader.execute("ROLLBACK")
    assert waited < 10

    counts = []
    answers = []
    stop = threading.Event()

    def ask():
        while not stop.is_set():
            answers.append(api.get("/v1/models/churn/stats?granularity=day", churn.api_key).status)

    asking = threading.Thread(target=ask)
    asking.start()
    try:
        while True:
            n = len(_leaves(churn))
            _maintain(settings, churn)
            counts.append(n - len(_leaves(churn)))
            status = api.post(
                "/v1/models/churn/predictions", churn.api_key, json=_records([0], prefix=f"x{len(counts)}")
            )
            assert status.status == 202
            if counts[-1] == 0:
                break
    finally:
        stop.set()
        asking.join()
    assert max(counts) <= partitions.DROP_BATCH and len(counts) >= 6
    assert answers and set(answers) == {200}
    with churn.connect() as conn:
        oldest = conn.execute("SELECT min(ts) FROM predictions").fetchone()[0]
    assert oldest >= NOW - timedelta(days=8)


# -- expired labels --------------------------------------------------------------------------------
def test_labels_of_expired_predictions_are_counted_expired_and_stored_nowhere(api, churn, settings, files):  # noqa: F811
    assert api.post("/v1/models/churn/predictions", churn.api_key, json=_records([100, 90, 3])).status == 202
    assert _put(api, churn, {"retention_days": 30}).status == 200
    _maintain(settings, churn)
    old = (NOW - timedelta(days=89)).isoformat()
    labels = {
        "records": [
            {"prediction_id": "p0", "label": "churn", "timestamp": old},  # its prediction expired
            {"prediction_id": "p1", "label": "churn", "timestamp": old},  # its prediction expired
            {"prediction_id": "p2", "label": "stay"},  # stored prediction
            {"prediction_id": "later", "label": "stay", "timestamp": NOW.isoformat()},  # not (yet) sent
        ]
    }
    reply = api.post("/v1/models/churn/ground-truths", churn.api_key, json=labels)
    assert reply.status == 202
    assert reply.body == {"accepted": 2, "unmatched": 1, "expired": 2}
    with churn.connect() as conn:
        assert sorted(r[0] for r in conn.execute("SELECT prediction_id FROM ground_truths")) == ["later", "p2"]

    ts = (NOW - timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%SZ")
    files.drop(f"{churn.name}/churn/ground-truths/old.csv", f"prediction_id,label,timestamp\np0,stay,{ts}\np2,churn,\n")
    result = files.result(f"{churn.name}/churn/ground-truths/old.csv")
    assert (result["status"], result["rows"], result["unmatched"], result["expired"]) == ("loaded", 1, 0, 1)
    assert _count(churn, "SELECT count(*) FROM ground_truths WHERE prediction_id = 'p0'") == 0
    assert _count(churn, "SELECT count(*) FROM ground_truths WHERE label = 'churn' AND prediction_id = 'p2'") == 1


def test_a_corrected_label_in_a_later_partition_replaces_the_earlier_one(api, churn):
    assert api.post("/v1/models/churn/predictions", churn.api_key, json=_records([1])).status == 202
    with churn.connect() as conn, conn.transaction():
        conn.execute("SET ROLE " + churn.tenant.role_name)
        leaf = conn.execute(
            "SELECT seia_raw_partition('ground_truths', m.id, now() - interval '30 days') FROM models m"
        ).fetchone()[0]
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (model_id, prediction_id, label, received_at) "
                "SELECT id, 'p0', 'stay', now() - interval '30 days' FROM models"
            ).format(sql.Identifier(leaf))
        )
    reply = api.post(
        "/v1/models/churn/ground-truths", churn.api_key, json={"records": [{"prediction_id": "p0", "label": "churn"}]}
    )
    assert reply.body == {"accepted": 1, "unmatched": 0, "expired": 0}
    with churn.connect() as conn:
        assert conn.execute("SELECT label, received_at > now() - interval '1 day' FROM ground_truths").fetchall() == [
            ("churn", True)
        ]


# -- usage and model removal -----------------------------------------------------------------------
def test_usage_counts_rows_bytes_and_partitions_and_drop_model_removes_them(api, churn):
    from seia import partitions

    assert api.post("/v1/models/churn/predictions", churn.api_key, json=_records([0, 10, 20])).status == 202
    with churn.connect() as conn:
        model_id = conn.execute("SELECT id FROM models").fetchone()[0]
        usage = partitions.partition_usage(conn, model_id)
        assert usage["predictions"]["rows"] == 3 and usage["prediction_keys"]["rows"] == 3
        assert usage["predictions"]["partitions"] >= 4 and usage["predictions"]["bytes"] > 0
        partitions.drop_model(conn, model_id)
        conn.commit()
        assert partitions.partition_usage(conn, model_id)["predictions"] == {"rows": 0, "bytes": 0, "partitions": 0}
        assert conn.execute("SELECT count(*) FROM raw_partitions").fetchone()[0] == 0


# -- the migration from the previous schema ----------------------------------------------------------
@pytest.fixture
def old_database(settings):
    """A scratch database at tenant migration 0008, filled through that schema's SQL."""
    from seia.migrate import load

    name = f"{settings.db_prefix}_mig0009"
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = psycopg.conninfo.make_conninfo(settings.database_url, dbname=name)
    with psycopg.connect(dsn) as conn:
        for m in load("tenant"):
            if m.version < 9:
                conn.execute(m.sql)
        conn.commit()
    # 0009 and every later migration: the repositories below are today's
    yield dsn, [m for m in load("tenant") if m.version >= 9]
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_the_migration_keeps_every_row_and_dedup_labels_and_watermarks_work(old_database):
    from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository

    dsn, migrations = old_database
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """INSERT INTO models (name, task, features, labels)
               VALUES ('a', 'binary_classification', '[]', '["no", "yes"]'), ('b', 'regression', '[]', NULL)"""
        )
        # 400 days of predictions of model 1 (the schema of 0008: one table, PK (model_id, prediction_id))
        conn.execute(
            """INSERT INTO predictions (model_id, prediction_id, ts, num, cat, prediction_label, score)
               SELECT 1, 'p' || i, now() - i * interval '1 day', '{}', '{}', 'yes', 0.5
               FROM generate_series(1, 400) i"""
        )
        # timestamps an old version took: UTC years 10000 and 0, and 1900
        for i, ts in enumerate(["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", "1900-01-01T00:00:00Z"]):
            conn.execute(
                "INSERT INTO predictions (model_id, prediction_id, ts, num, cat, prediction_value) "
                "VALUES (2, %s, %s::timestamptz, '{}', '{}', 1.0)",
                (f"old-{i}", ts),
            )
        conn.execute(
            "INSERT INTO ground_truths (model_id, prediction_id, label) VALUES (1, 'p1', 'yes'), (1, 'p2', 'no')"
        )
        conn.execute(
            "INSERT INTO reference_rows (model_id, prediction_id, ts, num, cat) VALUES (1, 'r1', now(), '{}', '{}')"
        )
        conn.execute("INSERT INTO reference_versions (model_id, rows) VALUES (1, 1)")
        conn.commit()
        before = {
            t: conn.execute(
                sql.SQL("SELECT model_id, prediction_id, xid::text FROM {} ORDER BY 1, 2").format(sql.Identifier(t))
            ).fetchall()
            for t in ("predictions", "ground_truths")
        }
        # the engine's watermark after every row above (a transaction id newer than all of them)
        horizon = conn.execute("SELECT pg_current_xact_id()::text").fetchone()[0]
        conn.execute("INSERT INTO drift_watermarks (model_id, step, xid) VALUES (1, 'profile', %s::xid8)", (horizon,))
        seq_max = conn.execute("SELECT max(seq) FROM predictions").fetchone()[0]
        conn.commit()

        for migration in migrations:
            conn.execute(migration.sql)
        conn.commit()

        after = {
            t: conn.execute(
                sql.SQL("SELECT model_id, prediction_id, xid::text FROM {} ORDER BY 1, 2").format(sql.Identifier(t))
            ).fetchall()
            for t in before
        }
        assert after == before and len(after["predictions"]) == 403
        assert conn.execute("SELECT count(*) FROM reference_rows").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM prediction_keys").fetchone()[0] == 403
        assert conn.execute("SELECT relkind FROM pg_class WHERE relname = 'predictions'").fetchone()[0] == "p"
        # the engine's watermark: no migrated row is new, a row written now is
        assert (
            conn.execute(
                "SELECT count(*) FROM predictions p JOIN drift_watermarks w ON w.model_id = p.model_id "
                "WHERE w.step = 'profile' AND p.xid >= w.xid"
            ).fetchone()[0]
            == 0
        )
        with conn.transaction():
            reply = PredictionRepository(conn).add(
                1,
                [
                    ("p5", datetime.now(UTC), [], [], "no", None, 0.1, None),
                    ("fresh", datetime.now(UTC), [], [], "no", None, 0.1, None),
                ],
            )
        assert (reply.accepted, reply.duplicates) == (1, 1)
        assert conn.execute("SELECT seq > %s FROM predictions WHERE prediction_id = 'fresh'", (seq_max,)).fetchone()[0]
        assert (
            conn.execute(
                "SELECT count(*) FROM predictions p JOIN drift_watermarks w ON w.model_id = p.model_id "
                "WHERE w.step = 'profile' AND p.xid >= w.xid"
            ).fetchone()[0]
            == 1
        )
        with conn.transaction():
            labels = GroundTruthRepository(conn).add(
                1, [("p3", "yes", None, None), ("p1", "no", None, None), ("zz", "no", None, None)]
            )
        assert (labels.accepted, labels.unmatched, labels.expired) == (3, 1, 0)
        assert conn.execute("SELECT label FROM ground_truths WHERE prediction_id = 'p1'").fetchone() == ("no",)
        with conn.transaction():
            ref, version, total = ReferenceRepository(conn).add(
                1, [("r1", datetime.now(UTC), [], [], None, None, None, None, None, None)], replace=False
            )
        assert (ref.accepted, ref.duplicates, version, total) == (0, 1, 2, 1)
