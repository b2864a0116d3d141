"""Tenant isolation, key handling, and what reaches the logs."""

import logging

import psycopg
import pytest

from seia.config import get_settings
from seia.credentials import get_store
from tests.support import data


def test_missing_malformed_unknown_and_revoked_keys_are_401(api, tenant, tenant_admin):
    assert api.get("/v1/models").status == 401
    assert api.get("/v1/models", "not-a-key").status == 401
    assert api.get("/v1/models", headers={"Authorization": "Basic abc"}).status == 401
    forged = tenant.api_key[:-4] + ("AAAA" if not tenant.api_key.endswith("AAAA") else "BBBB")
    assert api.get("/v1/models", forged).status == 401
    assert api.get("/v1/models", tenant.api_key).status == 200
    prefix = tenant.api_key.split("_")[1]
    assert tenant_admin.revoke_key(f"seia_{prefix}") is True
    reply = api.get("/v1/models", tenant.api_key)
    assert reply.status == 401
    assert reply.error["code"] == "unauthorized"


def test_a_second_key_works_and_revoking_one_leaves_the_other(api, tenant, tenant_admin):
    second = tenant_admin.create_key(tenant.name, ["admin"])
    assert api.get("/v1/models", second).status == 200
    tenant_admin.revoke_key(tenant.api_key.split("_")[1])
    assert api.get("/v1/models", tenant.api_key).status == 401
    assert api.get("/v1/models", second).status == 200


def test_tenant_a_key_on_tenant_b_model_is_404_like_a_model_that_does_not_exist(api, make_tenant):
    a, b = make_tenant(), make_tenant()
    api.post("/v1/models", b.api_key, json=data.model(name="secret-model"))
    api.post("/v1/models/secret-model/predictions", b.api_key, json=data.predictions(3))
    before = b.snapshot()
    theirs = api.get("/v1/models/secret-model", a.api_key)
    nowhere = api.get("/v1/models/no-such-model", a.api_key)
    assert theirs.status == nowhere.status == 404
    assert theirs.body["error"]["code"] == nowhere.body["error"]["code"]
    assert theirs.body["error"]["message"].replace("secret-model", "X") == nowhere.body["error"]["message"].replace(
        "no-such-model", "X"
    )
    assert api.post("/v1/models/secret-model/predictions", a.api_key, json=data.predictions(3, start=50)).status == 404
    assert api.get("/v1/models/secret-model/stats", a.api_key).status == 404
    assert api.get("/v1/models", a.api_key).body == {"models": []}
    assert b.snapshot() == before


def _role_connect(settings, role, dbname):
    password = get_store(settings).password(role)
    return psycopg.connect(
        host=settings.db_host, port=settings.db_port, user=role, password=password, dbname=dbname, connect_timeout=5
    )


def test_a_tenant_role_opens_its_own_database_only(make_tenant):
    settings = get_settings()
    a, b = make_tenant(), make_tenant()
    with _role_connect(settings, a.tenant.role_name, a.tenant.db_name) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == a.tenant.role_name
    for other in (b.tenant.db_name, settings.admin_db):
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            _role_connect(settings, a.tenant.role_name, other)


def test_the_api_role_reads_keys_but_cannot_open_tenant_databases(tenant):
    settings = get_settings()
    with _role_connect(settings, settings.api_role, settings.admin_db) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO tenants (name, db_name, role_name) VALUES ('x', 'y', 'z')")
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        _role_connect(settings, settings.api_role, tenant.tenant.db_name)


def test_handlers_open_tenant_databases_as_the_tenant_role(api, tenant):
    api.post("/v1/models", tenant.api_key, json=data.model())
    with tenant.connect() as conn:
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'predictions'").fetchone()[0]
        sessions = conn.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'seia'"
        ).fetchall()
    assert owner == tenant.tenant.role_name
    assert sessions == [(tenant.tenant.role_name,)]


def test_the_admin_database_holds_no_api_key_in_clear(tenant, tenant_admin):
    extra = tenant_admin.create_key(tenant.name, ["admin"])
    secret_parts = [k.split("_", 2)[2] for k in (tenant.api_key, extra)]
    with tenant_admin.admin_connection() as conn:
        dump = "\n".join(
            str(row)
            for table in ("tenants", "api_keys", "schema_migrations")
            for row in conn.execute(psycopg.sql.SQL("SELECT * FROM {}").format(psycopg.sql.Identifier(table)))
        )
    for key, secret in zip((tenant.api_key, extra), secret_parts):
        assert key not in dump and secret not in dump


def test_no_key_or_password_in_logs(api, make_tenant, caplog, capsys, tenant_admin):
    caplog.set_level(logging.DEBUG)
    t = make_tenant()
    api.post("/v1/models", t.api_key, json=data.model())
    api.post("/v1/models/churn/predictions", t.api_key, json=data.predictions(3))
    api.post("/v1/models/churn/predictions", t.api_key, json={"records": [{"bad": 1}]})
    api.get("/v1/models", t.api_key + "x")
    api.get("/v1/models/churn/stats", t.api_key)
    from seia_admin.cli import main

    main(["key", "create", t.name, "--scope", "ingest"])
    printed_key = capsys.readouterr().out
    settings = get_settings()
    secrets_ = [
        t.api_key,
        t.api_key.split("_", 2)[2],
        get_store(settings).password(t.tenant.role_name),
        get_store(settings).password(settings.api_role),
        settings.secret_key,
    ]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert logged  # the run did log
    for secret in secrets_:
        assert secret not in logged
    assert "api_key" in printed_key  # the CLI shows a new key once, on stdout, by design


HIDDEN = ["pg_database", "pg_roles", "pg_user", "pg_auth_members", "pg_stat_activity", "pg_stat_database"]


def test_a_tenant_role_cannot_list_other_tenants_databases_roles_or_sessions(api, make_tenant):
    settings = get_settings()
    a, b = make_tenant(), make_tenant()
    assert api.post("/v1/models", b.api_key, json=data.model()).status == 201  # b has a session open
    with _role_connect(settings, a.tenant.role_name, a.tenant.db_name) as conn:
        conn.autocommit = True
        for relation in HIDDEN:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM pg_catalog.{relation}")
        for function in ("pg_identify_object", "pg_describe_object"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    f"SELECT {function}('pg_database'::regclass, oid, 0) FROM pg_stat_get_activity(NULL) a, "
                    "LATERAL (SELECT a.datid AS oid) d"
                )
        # what a tenant still needs works: its own tables, the catalog of its own database, its own sessions
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'predictions'").fetchone()[0] == 1
        assert conn.execute("SELECT current_database()").fetchone()[0] == a.tenant.db_name
        datids = conn.execute("SELECT count(DISTINCT datid) FROM pg_stat_get_activity(NULL)").fetchone()[0]
        assert datids >= 1  # other databases are seen as numbers, never as names


def test_the_api_and_the_engine_still_work_for_a_tenant_behind_the_closed_catalogs(api, settings, tenant):
    from seia_drift.commands import run_drift

    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    assert api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(50)).status == 202
    report = run_drift(settings, tenant.name)[tenant.name]["churn"]
    assert "error" not in report, report
    assert api.get("/v1/models/churn/stats", tenant.api_key).status == 200
