"""Tenants, keys and migrations through the ``seia`` command."""

import json

import pytest

from seia_admin.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_tenant_create_prints_the_key_once_and_list_shows_no_key(capsys, settings, tenant_admin):
    code, out, _ = _run(capsys, "tenant", "create", "acme-cli")
    assert code == 0
    created = json.loads(out)
    assert created["tenant"] == "acme-cli" and created["api_key"].startswith("seia_")
    assert created["scopes"] == ["admin"]
    code, out, _ = _run(capsys, "tenant", "list")
    listed = json.loads(out)
    acme = [t for t in listed if t["tenant"] == "acme-cli"]
    assert acme and acme[0]["active_keys"] == 1 and acme[0]["database"] == f"{settings.db_prefix}_t_acme-cli"
    assert created["api_key"] not in out


def test_tenant_create_twice_and_bad_names_fail_clearly(capsys, tenant_admin):
    assert _run(capsys, "tenant", "create", "dup")[0] == 0
    code, _, err = _run(capsys, "tenant", "create", "dup")
    assert code == 2 and "already exists" in err
    code, _, err = _run(capsys, "tenant", "create", "Bad;Name")
    assert code == 2 and "name" in err


def test_key_create_and_revoke(capsys, tenant, api):
    code, out, _ = _run(capsys, "key", "create", tenant.name, "--scope", "read")
    key = json.loads(out)["api_key"]
    assert api.get("/v1/models", key).status == 200
    prefix = "seia_" + key.split("_")[1]
    assert _run(capsys, "key", "revoke", prefix)[0] == 0
    assert api.get("/v1/models", key).status == 401
    code, _, err = _run(capsys, "key", "revoke", prefix)
    assert code == 1 and "no active key" in err


def test_migrate_covers_every_database_and_running_it_twice_changes_nothing(capsys, make_tenant, tenant_admin):
    from seia import migrate

    t = make_tenant()
    code, out, _ = _run(capsys, "migrate")
    first = json.loads(out)
    assert code == 0 and t.name in first["tenants"]
    code, out, _ = _run(capsys, "migrate")
    second = json.loads(out)
    assert second["admin"] == [] and all(v == [] for v in second["tenants"].values())
    latest = migrate.load("tenant")[-1].version
    with t.connect() as conn:
        assert migrate.current_version(conn) == latest
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(migrate.load("tenant"))
    with tenant_admin.admin_connection() as conn:
        assert migrate.current_version(conn) == migrate.load("admin")[-1].version


def test_migrations_are_numbered_without_gaps():
    from seia import migrate

    for kind in ("admin", "tenant"):
        versions = [m.version for m in migrate.load(kind)]
        assert versions == list(range(1, len(versions) + 1))


@pytest.fixture
def own_server():
    """A PostgreSQL cluster Seia owns (started under a temporary folder, as `make up` starts one under .local/)."""
    from tests.support.clusters import private_cluster

    with private_cluster("seia-own-") as (dsn, _):
        yield dsn


def _connects(dsn_base: str, user: str, dbname: str) -> bool:
    import psycopg

    try:
        psycopg.connect(f"{dsn_base} user={user} dbname={dbname}", connect_timeout=5).close()
        return True
    except psycopg.OperationalError as exc:
        assert "permission denied" in str(exc)
        return False


def test_on_a_server_seia_owns_tenant_roles_open_no_database_but_their_own(own_server):
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from seia.config import Settings
    from seia.tenancy import TenantAdmin

    parts = conninfo_to_dict(own_server)
    base = f"host=127.0.0.1 port={parts['port']}"
    env = {"DATABASE_URL": own_server, "SEIA_DB_PREFIX": "own", "SEIA_SECRET_KEY": "k" * 43}
    with psycopg.connect(own_server, autocommit=True) as conn:  # someone else's database and role on the server
        conn.execute("CREATE ROLE app LOGIN")
        conn.execute("CREATE DATABASE appdb")
    # an existing tenant, created by a version (or a setting) that did not fence
    old = TenantAdmin(Settings.from_env(env)).create_tenant("before").tenant
    assert _connects(base, old.role_name, "postgres") and _connects(base, old.role_name, "appdb")

    admin = TenantAdmin(Settings.from_env(env | {"SEIA_DB_OWN_SERVER": "1"}))
    report = admin.migrate_all()  # `seia migrate` fences existing tenants
    assert {"postgres", "template1", "appdb"} <= set(report["fenced"])
    new = admin.create_tenant("after").tenant  # a new tenant is fenced when created
    for tenant in (old, new):
        assert _connects(base, tenant.role_name, tenant.db_name)
        for db in ("postgres", "template1", "appdb", admin.settings.admin_db):
            assert not _connects(base, tenant.role_name, db), (tenant.role_name, db)
    assert not _connects(base, old.role_name, new.db_name)
    # nobody else lost anything
    assert _connects(base, "app", "postgres") and _connects(base, "app", "appdb")
    assert _connects(base, "postgres", "template1")


def test_on_a_shared_server_other_databases_are_left_alone(settings, tenant_admin):
    assert settings.own_server is False
    with tenant_admin._server() as server:
        assert tenant_admin._fence(server, [], []) == []
