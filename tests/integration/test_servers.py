"""Tenants across database servers: `seia server add/list`, placement, and `seia tenant move` to a second
PostgreSQL cluster started under a temporary folder (as `make up` starts one under .local/).

The second cluster asks every role but ``postgres`` for a password (scram-sha-256), so a tenant that works
there after a move proves its role was created with the same password, and `seia server add` proves it keeps
the admin role's password it was given.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from seia_admin.cli import main
from tests.conftest import _drop_run_objects, reset_process_caches
from tests.support import data, scenarios
from tests.support.clusters import private_cluster

ADMIN_PASSWORD = "s3cret-" + secrets.token_hex(8)
PAUSED_STEPS = ("verify",)


@pytest.fixture(scope="module")
def second_cluster():
    """A second PostgreSQL cluster on another port: (superuser DSN, the DSN `seia server add` is given)."""
    with private_cluster("seia-second-") as (dsn, data_dir):
        (data_dir / "pg_hba.conf").write_text(
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE ops LOGIN SUPERUSER PASSWORD {}").format(sql.Literal(ADMIN_PASSWORD)))
            conn.execute("SELECT pg_reload_conf()")
        port = psycopg.conninfo.conninfo_to_dict(dsn)["port"]
        yield dsn, f"postgresql://ops:{ADMIN_PASSWORD}@127.0.0.1:{port}/postgres"


@pytest.fixture
def env(second_cluster, settings):
    """An admin database of this test's own (its own prefix and local secrets folder): servers registered here
    are seen by no other test."""
    prefix = "sv" + secrets.token_hex(3)
    home = tempfile.mkdtemp(prefix="seia-test-home-")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEIA_DB_PREFIX", prefix)
        mp.setenv("SEIA_HOME", home)
        reset_process_caches()
        from seia.config import get_settings

        try:
            yield get_settings()
        finally:
            reset_process_caches()
            _drop_run_objects(settings.database_url, prefix)
            _drop_run_objects(second_cluster[0], prefix)
            shutil.rmtree(home, ignore_errors=True)
    reset_process_caches()


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _add_second(capsys, second_cluster):
    code, out, err = _run(capsys, "server", "add", "second", second_cluster[1])
    assert code == 0, err
    return json.loads(out)


def _create(capsys, name, *extra):
    code, out, err = _run(capsys, "tenant", "create", name, *extra)
    assert code == 0, err
    return json.loads(out)


def _loads(capsys) -> dict:
    code, out, _ = _run(capsys, "server", "list")
    assert code == 0
    return {row["server"]: row["tenants"] for row in json.loads(out)}


def _databases(dsn: str, prefix: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))}


def test_server_add_keeps_the_password_in_the_secrets_only(capsys, env, second_cluster):
    row = _add_second(capsys, second_cluster)
    port = int(second_cluster[1].rsplit(":", 1)[1].split("/")[0])
    assert row == {"server": "second", "host": "127.0.0.1", "port": port, "tenants": 0}
    with psycopg.connect(psycopg.conninfo.make_conninfo(env.database_url, dbname=env.admin_db)) as admin:
        stored = admin.execute("SELECT servers::text FROM servers WHERE name = 'second'").fetchone()[0]
    assert ADMIN_PASSWORD not in stored and "ops" in stored
    secret = Path(os.environ["SEIA_HOME"]) / "servers" / "second"
    assert secret.read_text() == ADMIN_PASSWORD and secret.stat().st_mode & 0o077 == 0

    code, out, err = _run(capsys, "server", "add", "again", second_cluster[1])
    assert code == 2 and "already registered as server 'second'" in err
    wrong = second_cluster[1].replace(ADMIN_PASSWORD, "wrong-" + ADMIN_PASSWORD)
    code, out, err = _run(capsys, "server", "add", "third", wrong.replace("127.0.0.1", "localhost"))
    assert code == 2 and "password authentication failed" in err
    assert ADMIN_PASSWORD not in out + err
    code, out, _ = _run(capsys, "server", "list")
    assert [r["server"] for r in json.loads(out)] == ["default", "second"]


def test_new_tenants_go_to_the_server_with_fewest_tenants_unless_one_is_named(capsys, env, second_cluster):
    _add_second(capsys, second_cluster)
    assert _create(capsys, "a1", "--server", "default")["server"] == "default"
    assert _create(capsys, "a2")["server"] == "second"  # 1 tenant against 0
    assert _create(capsys, "a3")["server"] == "default"  # 1 against 1: the older server
    assert _create(capsys, "a4", "--server", "default")["server"] == "default"
    assert _create(capsys, "a5")["server"] == "second"  # 3 against 1
    assert _loads(capsys) == {"default": 3, "second": 2}
    code, _, err = _run(capsys, "tenant", "create", "a6", "--server", "nosuch")
    assert code == 2 and "no server named 'nosuch'" in err
    assert _databases(second_cluster[0], env.db_prefix) == {f"{env.db_prefix}_t_a2", f"{env.db_prefix}_t_a5"}
    code, out, _ = _run(capsys, "tenant", "list")
    assert {r["tenant"]: r["server"] for r in json.loads(out)} == {
        "a1": "default", "a2": "second", "a3": "default", "a4": "default", "a5": "second"
    }  # fmt: skip


def _tenant_with_rows(capsys, name: str, server: str, rows: int):
    """A tenant created by `seia tenant create --server`, with the churn model and ``rows`` predictions."""
    from tests.support.api import ApiClient

    key = _create(capsys, name, "--server", server)["api_key"]
    api = ApiClient()
    assert api.post("/v1/models", key, json=data.model()).status == 201
    assert api.post("/v1/models/churn/predictions", key, json=data.predictions(rows)).status == 202
    return api, key


def test_a_tenant_on_the_second_server_is_served_there(capsys, env, second_cluster):
    _add_second(capsys, second_cluster)
    _tenant_with_rows(capsys, "far", "second", 30)
    with psycopg.connect(psycopg.conninfo.make_conninfo(second_cluster[0], dbname=f"{env.db_prefix}_t_far")) as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == 30
    assert f"{env.db_prefix}_t_far" not in _databases(env.database_url, env.db_prefix)


class Writer(threading.Thread):
    """Sends batches of new predictions to one tenant until stopped; remembers every answer."""

    def __init__(self, api, key):
        super().__init__(daemon=True)
        self.api, self.key = api, key
        self.stop = threading.Event()
        self.accepted: list[str] = []
        self.refused: list[tuple[int, str | None]] = []
        self.other: list[int] = []

    def run(self):
        n = 1000
        while not self.stop.is_set():
            batch = data.predictions(10, start=n)
            reply = self.api.post("/v1/models/churn/predictions", self.key, json=batch)
            ids = [r["prediction_id"] for r in batch["records"]]
            if reply.status == 202:
                self.accepted += ids
            elif reply.status == 503:
                self.refused.append((reply.status, reply.headers.get("Retry-After")))
            else:
                self.other.append(reply.status)
            n += 10


def _prediction_ids(dsn: str, db: str) -> set[str]:
    with psycopg.connect(psycopg.conninfo.make_conninfo(dsn, dbname=db)) as conn:
        return {r[0] for r in conn.execute("SELECT prediction_id FROM predictions")}


def test_a_move_pauses_only_that_tenants_writes_loses_no_accepted_row_and_switches(capsys, env, second_cluster):
    from seia.tenancy import TenantAdmin
    from seia.tenancy_move import TenantMove

    _add_second(capsys, second_cluster)
    api, key = _tenant_with_rows(capsys, "mover", "default", 200)
    _, other_key = _tenant_with_rows(capsys, "stayer", "default", 200)
    seen = {}

    def during(step):
        if step != "verify":  # the copy is made and the source is read-only: the cutover
            return
        seen["write"] = api.post("/v1/models/churn/predictions", key, json=data.predictions(5, start=900))
        seen["read"] = api.get("/v1/models/churn", key)
        seen["other"] = api.post("/v1/models/churn/predictions", other_key, json=data.predictions(5, start=900))
        with psycopg.connect(psycopg.conninfo.make_conninfo(env.database_url, dbname=f"{env.db_prefix}_t_mover")) as c:
            seen["source_rows"] = c.execute("SELECT count(*) FROM predictions").fetchone()[0]

    writer = Writer(api, key)
    writer.start()
    try:
        while len(writer.accepted) < 30:  # writes are flowing before the move starts
            threading.Event().wait(0.05)
        report = TenantMove(TenantAdmin(env), checkpoint=during).move("mover", "second")
        after = len(writer.accepted)
        while len(writer.accepted) < after + 30:  # and flow again, to the new server, after it
            threading.Event().wait(0.05)
    finally:
        writer.stop.set()
        writer.join()

    write = seen["write"]
    assert write.status == 503 and write.error["code"] == "service_unavailable"
    assert int(write.headers["Retry-After"]) >= 1
    assert seen["read"].status == 200 and seen["read"].body["name"] == "churn"
    assert seen["other"].status == 202 and seen["other"].body["accepted"] == 5
    assert writer.other == []
    assert all(retry is not None and int(retry) >= 1 for _, retry in writer.refused)

    db = f"{env.db_prefix}_t_mover"
    stored = _prediction_ids(second_cluster[0], db)
    assert set(writer.accepted) <= stored  # no accepted row lost, before, during or after the move
    assert {f"p{i}" for i in range(200)} <= stored and "p900" not in stored
    assert db not in _databases(env.database_url, env.db_prefix)  # the old copy is gone
    with psycopg.connect(env.database_url) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"{env.db_prefix}_t_mover",)).fetchone() is None
        )
    assert report.rows["public.predictions"] == seen["source_rows"]  # counted on both sides during the cutover
    assert report.rows["public.models"] == 1
    assert report.seconds_paused > 0 and report.seconds_total >= report.seconds_paused
    assert _loads(capsys) == {"default": 1, "second": 1}
    code, out, _ = _run(capsys, "tenant", "list")
    assert {r["tenant"]: (r["server"], r["moving"]) for r in json.loads(out)} == {
        "mover": ("second", None), "stayer": ("default", None)
    }  # fmt: skip


class Stop(Exception):
    """Stands for the `seia tenant move` process dying at a step: nothing after it runs, nothing is cleaned."""


def _stopping_at(step_name):
    def checkpoint(step):
        if step == step_name:
            raise Stop(step)

    return checkpoint


def _moving_tenant(capsys, second_cluster):
    _add_second(capsys, second_cluster)
    return _tenant_with_rows(capsys, "halted", "default", 100)


@pytest.mark.parametrize(
    ("step", "writes_meanwhile", "where"),
    [
        ("copying", 202, "default"),  # the target is being prepared: the source takes everything
        ("cutover", 202, "default"),  # recorded, but the source not yet read-only
        ("verify", 503, "default"),  # copied, source read-only: reads go on, writes wait for the rerun
        ("switched", 202, "second"),  # switched: the tenant works on the target; the old copy is left over
    ],
)
def test_a_move_stopped_at_any_step_keeps_the_tenant_readable_and_a_rerun_finishes_it(
    capsys, env, second_cluster, step, writes_meanwhile, where
):
    from seia.tenancy import TenantAdmin
    from seia.tenancy_move import TenantMove

    api, key = _moving_tenant(capsys, second_cluster)
    with pytest.raises(Stop):
        TenantMove(TenantAdmin(env), checkpoint=_stopping_at(step)).move("halted", "second")

    assert api.get("/v1/models/churn", key).status == 200
    reply = api.post("/v1/models/churn/predictions", key, json=data.predictions(10, start=500))
    assert reply.status == writes_meanwhile
    if writes_meanwhile == 503:
        assert int(reply.headers["Retry-After"]) >= 1
    code, out, _ = _run(capsys, "tenant", "list")
    assert [(r["server"], r["moving"]) for r in json.loads(out)] == [(where, step if step != "verify" else "cutover")]
    if step != "switched":
        code, _, err = _run(capsys, "tenant", "move", "halted", "--to", "default")
        assert code == 2 and "unfinished move to 'second'" in err

    code, out, err = _run(capsys, "tenant", "move", "halted", "--resume")
    assert code == 0, err
    report = json.loads(out)
    assert report["to"] == "second" and report["resumed_from"] == (step if step != "verify" else "cutover")
    expected = 100 + (10 if writes_meanwhile == 202 else 0)
    assert report["tables"]["public.predictions"] == expected
    db = f"{env.db_prefix}_t_halted"
    assert len(_prediction_ids(second_cluster[0], db)) == expected
    assert db not in _databases(env.database_url, env.db_prefix)
    assert api.post("/v1/models/churn/predictions", key, json=data.predictions(10, start=600)).status == 202
    assert len(_prediction_ids(second_cluster[0], db)) == expected + 10
    code, _, err = _run(capsys, "tenant", "move", "halted", "--resume")
    assert code == 2 and "where to?" in err  # nothing left to resume


@pytest.mark.parametrize("step", ["copying", "verify"])
def test_an_aborted_move_leaves_the_tenant_writable_where_it_was_and_nothing_on_the_target(
    capsys, env, second_cluster, step
):
    from seia.tenancy import TenantAdmin
    from seia.tenancy_move import TenantMove

    api, key = _moving_tenant(capsys, second_cluster)
    with pytest.raises(Stop):
        TenantMove(TenantAdmin(env), checkpoint=_stopping_at(step)).move("halted", "second")
    code, out, err = _run(capsys, "tenant", "move", "halted", "--abort")
    assert code == 0, err
    assert json.loads(out)["aborted"] is True
    assert api.post("/v1/models/churn/predictions", key, json=data.predictions(10, start=500)).status == 202
    db = f"{env.db_prefix}_t_halted"
    assert len(_prediction_ids(env.database_url, db)) == 110
    assert _databases(second_cluster[0], env.db_prefix) == set()
    with psycopg.connect(second_cluster[0]) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (env.db_prefix + "%",)
        ).fetchone() == (0,)
    assert _loads(capsys) == {"default": 1, "second": 0}
    code, _, err = _run(capsys, "tenant", "move", "halted", "--abort")
    assert code == 2 and "is not being moved" in err


def test_the_drift_engine_runs_on_a_moved_tenant(capsys, env, second_cluster):
    _add_second(capsys, second_cluster)
    _create(capsys, "drifty", "--server", "default")
    db = f"{env.db_prefix}_t_drifty"
    with psycopg.connect(psycopg.conninfo.make_conninfo(env.database_url, dbname=db), autocommit=True) as conn:
        scenarios.load(conn, "shift", scenarios.generate("covariate_shift", 1))
    code, out, err = _run(capsys, "drift", "run", "--tenant", "drifty")
    assert code == 0, err
    code, out, err = _run(capsys, "tenant", "move", "drifty", "--to", "second")
    assert code == 0, err
    moved = json.loads(out)
    assert moved["tables"]["public.drift_results"] > 0
    code, out, err = _run(capsys, "drift", "run", "--tenant", "drifty")
    assert code == 0, err
    assert "error" not in json.loads(out)["drifty"]["shift"]
    with psycopg.connect(psycopg.conninfo.make_conninfo(second_cluster[0], dbname=db)) as conn:
        assert (
            conn.execute("SELECT count(*) FROM drift_results").fetchone()[0] == moved["tables"]["public.drift_results"]
        )


def test_a_tenant_seen_with_a_higher_epoch_gets_new_connections_and_an_older_one_changes_nothing(settings, tenant):
    import dataclasses

    from seia.db import Databases

    databases = Databases(settings)
    try:
        with databases.tenant(tenant.tenant) as conn:
            first = conn.info.backend_pid
        with databases.tenant(tenant.tenant) as conn:
            assert conn.info.backend_pid == first  # the pool keeps its connection
        moved = dataclasses.replace(tenant.tenant, epoch=tenant.tenant.epoch + 1)
        with databases.tenant(moved) as conn:
            second = conn.info.backend_pid
        assert second != first  # the pool of the old epoch was closed
        with databases.tenant(tenant.tenant) as conn:  # a request that read the row before the switch
            assert conn.info.backend_pid == second
    finally:
        databases.close()
