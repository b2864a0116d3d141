"""Security: tenant isolation of files, drift results, alerts and settings; revocation on every route;
constant-time key comparison on every lookup path; no secret in logs of a full flow."""

from __future__ import annotations

import hmac
import logging

import pytest

from tests.reliability.conftest import say
from tests.support import data, scenarios

QUERY_ROUTES = [
    "/v1/models",
    "/v1/models/churn",
    "/v1/models/churn/stats",
    "/v1/models/churn/drift",
    "/v1/models/churn/features/x0/distribution",
    "/v1/models/churn/performance",
    "/v1/models/churn/alerts",
]


@pytest.fixture(scope="module")
def two_tenants(tenant_admin, settings):
    """Tenants A and B, each with a model named churn run through the drift engine; only B's drifts."""
    import secrets

    from tests.conftest import TenantHandle
    from tests.support import drift_seed

    a = TenantHandle(tenant_admin, tenant_admin.create_tenant("a" + secrets.token_hex(4)))
    b = TenantHandle(tenant_admin, tenant_admin.create_tenant("b" + secrets.token_hex(4)))
    drift_seed.seed(settings, a, {"churn": scenarios.generate("stationary", 1)})
    drift_seed.seed(settings, b, {"churn": scenarios.generate("missing_spike", 1)})
    return a, b


def test_a_key_sees_only_its_own_drift_alerts_distributions_and_settings(api, two_tenants):
    a, b = two_tenants
    seen_a = {p: api.get(p, a.api_key) for p in QUERY_ROUTES}
    seen_b = {p: api.get(p, b.api_key) for p in QUERY_ROUTES}
    assert all(r.status == 200 for r in seen_a.values()), {p: r.status for p, r in seen_a.items()}
    b_alerts = seen_b["/v1/models/churn/alerts"].raw
    assert b"data_quality" in b_alerts and b"data_quality" not in seen_a["/v1/models/churn/alerts"].raw
    with b.connect() as conn:
        b_alert_ids = [r[0] for r in conn.execute("SELECT id FROM incidents")]

    def b_rows():
        with b.connect() as conn:
            return (
                conn.execute("SELECT * FROM incidents ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM models ORDER BY id").fetchall(),
            )

    before, rows_before = b.snapshot(), b_rows()
    for alert_id in b_alert_ids:
        assert api.get(f"/v1/models/churn/alerts/{alert_id}", a.api_key).status == 404
        assert api.post(f"/v1/models/churn/alerts/{alert_id}/acknowledge", a.api_key, json={}).status == 404
        assert api.post(f"/v1/models/churn/alerts/{alert_id}/resolve", a.api_key, json={}).status == 404
    put = api.request("PUT", "/v1/models/churn/settings", a.api_key, json_body={"webhook_url": "http://127.0.0.1:9/x"})
    assert b.snapshot() == before and b_rows() == rows_before  # nothing acknowledged or resolved, no setting changed
    say(
        f"isolation: A and B both have 'churn'; A's key on every query route sees A's data only; B's "
        f"{len(b_alert_ids)} incident ids are 404 for A (read, acknowledge, resolve); A's settings PUT -> {put.status} "
        "changed A's model only"
    )


def test_a_file_under_a_prefix_naming_b_s_model_lands_in_a_only(file_drop, api, make_tenant):
    from tests.integration.test_file_ingest import csv_rows

    a, b = make_tenant(), make_tenant()
    assert api.post("/v1/models", b.api_key, json=data.model(name="bonly")).status == 201
    assert api.post("/v1/models", a.api_key, json=data.model()).status == 201
    assert api.post("/v1/models", b.api_key, json=data.model()).status == 201
    before = b.snapshot()
    file_drop.drop(f"{a.name}/bonly/predictions/x.csv", csv_rows(3))
    file_drop.drop(f"{a.name}/churn/predictions/y.csv", csv_rows(4))
    assert "unknown model" in file_drop.result(f"{a.name}/bonly/predictions/x.csv")["errors"][0]["message"]
    assert b.snapshot() == before and a.snapshot()["predictions"] == 4
    say(
        "isolation: a file under A's prefix naming B's model is 'unknown model'; one naming 'churn' "
        "(a name both have) lands in A's database; B is untouched"
    )


def test_a_revoked_key_stops_working_at_once_on_every_route(api, two_tenants, tenant_admin):
    a, _ = two_tenants
    key = tenant_admin.create_key(a.name)
    assert all(api.get(p, key).status == 200 for p in QUERY_ROUTES)  # warm pools, as a warm Lambda
    from seia_admin.cli import main

    assert main(["key", "revoke", key.split("_")[1]]) == 0
    statuses = {p: api.get(p, key).status for p in QUERY_ROUTES}
    statuses["PUT settings"] = api.request("PUT", "/v1/models/churn/settings", key, json_body={}).status
    statuses["POST acknowledge"] = api.post("/v1/models/churn/alerts/1/acknowledge", key, json={}).status
    statuses["POST predictions"] = api.post("/v1/models/churn/predictions", key, json=data.predictions(1)).status
    say(f"revocation: `seia key revoke` then the very next requests -> {statuses}")
    assert set(statuses.values()) == {401}
    assert api.get("/v1/models", a.api_key).status == 200  # the tenant's other key still works


def test_every_key_lookup_compares_equal_length_digests_with_compare_digest(
    api, two_tenants, tenant_admin, monkeypatch
):
    """No timing measurement: the implementation is checked to compare with hmac.compare_digest, on
    two 32-byte SHA-256 digests, whether the key is valid, wrong, unknown, revoked or malformed-but-shaped."""
    import pathlib

    from seia import auth

    a, _ = two_tenants
    revoked = tenant_admin.create_key(a.name)
    tenant_admin.revoke_key(revoked.split("_")[1])
    calls = []
    real = hmac.compare_digest

    def spy(x, y):
        calls.append((type(x), len(x), type(y), len(y)))
        return real(x, y)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    keys = {
        "valid": a.api_key,
        "wrong secret": a.api_key[:-2] + ("AA" if not a.api_key.endswith("AA") else "BB"),
        "unknown prefix": "seia_0123456789_" + "A" * 43,
        "revoked": revoked,
    }
    for name, key in keys.items():
        calls.clear()
        status = api.get("/v1/models", key).status
        assert calls == [(bytes, 32, bytes, 32)], (name, calls)
        say(f"constant time: {name} key -> {status}, compared with hmac.compare_digest on 32-byte digests")
    root = pathlib.Path(auth.__file__).resolve().parents[4]
    sources = [p for d in ("layers/shared/python/seia", "functions") for p in (root / d).rglob("*.py")]
    lookups = [p for p in sources if "key_hash" in p.read_text()]
    assert lookups
    for path in lookups:
        text = path.read_text()
        assert "key_hash ==" not in text and "== row.key_hash" not in text and "key_hash !=" not in text, path
    say(f"constant time: {len(lookups)} source files touch key_hash; none compares it with == or !=")


def test_no_secret_reaches_the_logs_of_a_full_flow(api, file_drop, tenant_admin, settings, db_proxy):
    from seia.credentials import get_store
    from seia_admin.cli import main
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.conftest import TenantHandle
    from tests.integration.test_file_ingest import csv_rows
    from tests.reliability.conftest import point_tenant_at

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    root = logging.getLogger()
    handler, old_level = Keep(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet = {}
    for name in list(logging.root.manager.loggerDict):
        lg = logging.getLogger(name)
        if lg.level > logging.DEBUG:
            quiet[name] = lg.level
            lg.setLevel(logging.DEBUG)
    try:
        import secrets

        t = TenantHandle(tenant_admin, tenant_admin.create_tenant("s" + secrets.token_hex(4)))
        main(["key", "create", t.name])
        key = t.api_key
        api.post("/v1/models", key, json=data.model())
        api.post("/v1/models/churn/predictions", key, json=data.predictions(50))
        api.post("/v1/models/churn/predictions", key, json={"records": [{"bad": 1}]})
        api.get("/v1/models", key + "x")
        api.get("/v1/models", "Basic " + key)
        api.get("/v1/models/churn/drift", key)
        file_drop.drop(f"{t.name}/churn/predictions/f.csv", csv_rows(20, start=100))
        file_drop.drop(f"{t.name}/churn/predictions/bad.csv", "nope\n1\n")
        point_tenant_at(tenant_admin, t, db_proxy.port)
        db_proxy.stop()
        down = api.post("/v1/models/churn/predictions", key, json=data.predictions(1, start=999))
        db_proxy.start()
        point_tenant_at(tenant_admin, t, None)
        databases = WorkerDatabases(settings)
        try:
            DriftEngine(databases).run(t.tenant, "churn")
        finally:
            databases.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
    store = get_store(settings)
    secrets_ = {
        "api key": key,
        "api key secret part": key.split("_", 2)[2],
        "secret key": settings.secret_key,
        "tenant role password": store.password(t.tenant.role_name),
        "api role password": store.password(settings.api_role),
        "worker role password": store.password(settings.worker_role),
    }
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    say(
        f"logs: full flow (tenant create, key create, API calls incl. 400/401/503 ({down.status}), a good and a bad "
        f"file, a drift run) logged {len(records)} records at DEBUG from "
        f"{len({r.name for r in records})} loggers; searched for {sorted(secrets_)}"
    )
    assert down.status == 503 and len(records) > 20
    for name, secret in secrets_.items():
        assert secret not in text, f"the {name} reached the logs"
