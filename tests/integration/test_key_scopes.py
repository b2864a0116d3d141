"""Scoped keys: what an ingest, read or admin key may do on every route, expiry, the migration, the CLI.

The route table below is the contract: every route the Chalice apps serve must be in it (a route added
without a row fails here), with the scopes that may call it and what an allowed probe answers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from chalice import Chalice

from infra.local.apihost import ApiHost, default_functions
from seia import scopes
from seia.http import authenticated_views
from seia_admin.cli import main
from tests.support import data

PUBLIC = "public"
READ, INGEST, ADMIN = frozenset({"read"}), frozenset({"ingest"}), frozenset({"admin"})
# (METHOD, route template) -> (scopes that may call it, status of the probe below for a key that may).
# The probe: path parameters model=nosuch, feature=x, alert_id=1, file=nosuch.txt; body {} unless GET.
# The ingest routes check a batch's envelope before any database work: {} is a 400 ("records" missing)
# before the model is looked up.
ROUTES = {
    ("GET", "/health"): (PUBLIC, 200),
    ("GET", "/v1/openapi.json"): (PUBLIC, 200),
    ("GET", "/dashboard"): (PUBLIC, 200),
    ("GET", "/dashboard/{file}"): (PUBLIC, 404),
    ("GET", "/v1/key"): (scopes.ANY, 200),
    ("POST", "/v1/models"): (ADMIN, 400),
    ("GET", "/v1/models"): (READ, 200),
    ("GET", "/v1/models/{model}"): (READ | INGEST, 404),
    ("PATCH", "/v1/models/{model}"): (ADMIN, 404),
    ("DELETE", "/v1/models/{model}"): (ADMIN, 404),
    ("POST", "/v1/models/{model}/predictions"): (INGEST, 400),
    ("POST", "/v1/models/{model}/ground-truths"): (INGEST, 400),
    ("POST", "/v1/models/{model}/reference"): (INGEST, 400),
    ("GET", "/v1/models/{model}/stats"): (READ, 404),
    ("GET", "/v1/models/{model}/drift"): (READ, 404),
    ("GET", "/v1/models/{model}/drift/{feature}"): (READ, 404),
    ("GET", "/v1/models/{model}/features/{feature}/distribution"): (READ, 404),
    ("GET", "/v1/models/{model}/performance"): (READ, 404),
    ("GET", "/v1/models/{model}/alerts"): (READ, 404),
    ("GET", "/v1/models/{model}/alerts/{alert_id}"): (READ, 404),
    ("POST", "/v1/models/{model}/alerts/{alert_id}/acknowledge"): (ADMIN, 404),
    ("POST", "/v1/models/{model}/alerts/{alert_id}/resolve"): (ADMIN, 404),
    ("PUT", "/v1/models/{model}/settings"): (ADMIN, 404),
    ("GET", "/v1/settings"): (READ, 200),
    ("PUT", "/v1/settings"): (ADMIN, 200),
}
PROBE = {"model": "nosuch", "feature": "x", "alert_id": "1", "file": "nosuch.txt"}
KEYS = {"read": ["read"], "ingest": ["ingest"], "admin": ["admin"], "read+ingest": ["read", "ingest"]}


def _served() -> dict:
    """(METHOD, template) -> what the apps enforce: the scopes that may call it, or PUBLIC."""
    out = {}
    for app in default_functions().values():
        for path, methods in app.routes.items():
            for method, entry in methods.items():
                view = entry.view_function
                out[(method, path)] = (
                    scopes.required(method, path, view.seia_scope) if hasattr(view, "seia_scope") else PUBLIC
                )
    return out


def test_every_served_route_has_a_row_in_the_scope_table_and_the_apps_enforce_it():
    served = _served()
    missing = sorted(set(served) - set(ROUTES))
    assert not missing, f"routes without a scope row (add them to ROUTES with the scopes they need): {missing}"
    assert served == {route: needs for route, (needs, _) in ROUTES.items()}


@pytest.fixture
def keys(tenant, tenant_admin):
    return {name: tenant_admin.create_key(tenant.name, held) for name, held in KEYS.items()}


def _probe(api, method, template, key):
    path = re.sub(r"\{(\w+)\}", lambda m: PROBE[m.group(1)], template)
    if method == "GET":
        return api.get(path, key)
    return api.request(method, path, key, json_body={})


def _expected_message(held, method, template, needs) -> str:
    have = f"scope {held[0]}" if len(held) == 1 else f"scopes {', '.join(sorted(held))}"
    return f"this key has {have}; {method} {template} needs {' or '.join(s for s in scopes.SCOPES if s in needs)}"


def test_every_route_answers_each_scope_as_the_table_says(api, tenant, keys):
    """Given keys of each scope, when each calls every route, then a key lacking the scope gets 403 naming it
    (and nothing is written), and one holding it reaches the route (its probe's 200/400/404)."""
    before = tenant.snapshot()
    got, want = {}, {}
    for (method, template), (needs, allowed_status) in ROUTES.items():
        if needs == PUBLIC:
            got[(method, template, "no key")] = _probe(api, method, template, None).status
            want[(method, template, "no key")] = allowed_status
            continue
        for name, key in keys.items():
            reply = _probe(api, method, template, key)
            if scopes.allows(KEYS[name], needs):
                got[(method, template, name)] = reply.status
                want[(method, template, name)] = allowed_status
            else:
                got[(method, template, name)] = (reply.status, reply.error["code"], reply.error["message"])
                want[(method, template, name)] = (
                    403,
                    "forbidden",
                    _expected_message(KEYS[name], method, template, needs),
                )
    assert got == want
    assert tenant.snapshot() == before


def test_an_ingest_key_writes_rows_but_cannot_create_models_change_settings_or_read_results(api, tenant, keys):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    ingest = keys["ingest"]
    assert api.post("/v1/models/churn/predictions", ingest, json=data.predictions(3)).body == {
        "accepted": 3,
        "duplicates": 0,
    }
    assert (
        api.post(
            "/v1/models/churn/ground-truths", ingest, json={"records": [{"prediction_id": "p0", "label": "stay"}]}
        ).status
        == 202
    )
    assert api.get("/v1/models/churn", ingest).body["name"] == "churn"  # what a client needs to shape records
    refused = api.request("PUT", "/v1/models/churn/settings", ingest, json_body={"min_rows": 5})
    assert refused.status == 403
    assert refused.error["message"] == "this key has scope ingest; PUT /v1/models/{model}/settings needs admin"
    assert api.post("/v1/models", ingest, json=data.model(name="other")).status == 403
    assert api.get("/v1/models/churn/stats", ingest).status == 403
    assert api.get("/v1/models", tenant.api_key).body["models"][0]["settings"] == {}
    assert [m["name"] for m in api.get("/v1/models", tenant.api_key).body["models"]] == ["churn"]


def test_a_read_key_reads_but_writes_nothing(api, tenant, keys):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    read = keys["read"]
    assert api.get("/v1/models/churn/stats", read).status == 200
    before = tenant.snapshot()
    reply = api.post("/v1/models/churn/predictions", read, json=data.predictions(2))
    assert (reply.status, reply.error["message"]) == (
        403,
        "this key has scope read; POST /v1/models/{model}/predictions needs ingest",
    )
    assert api.post("/v1/models/churn/alerts/1/acknowledge", read, json={}).status == 403
    assert tenant.snapshot() == before


def test_the_key_route_tells_any_key_its_tenant_scopes_and_expiry(api, tenant, tenant_admin):
    expires = datetime.now(UTC) + timedelta(days=3)
    key = tenant_admin.create_key(tenant.name, ["ingest"], expires)
    body = api.get("/v1/key", key).body
    assert body == {
        "tenant": tenant.name,
        "prefix": "seia_" + key.split("_")[1],
        "scopes": ["ingest"],
        "expires_at": body["expires_at"],
    }
    assert datetime.fromisoformat(body["expires_at"]) == expires.replace(microsecond=expires.microsecond)
    assert api.get("/v1/key", tenant.api_key).body["scopes"] == ["admin"]
    assert api.get("/v1/key", tenant.api_key).body["expires_at"] is None
    assert api.get("/v1/key", None).status == 401


def test_a_route_added_without_a_declared_scope_is_admin_only(settings, tenant, keys):
    """Default deny: a new write route (as other developers add them) needs admin until it says otherwise."""
    from seia_query.service import get_service

    app = Chalice(app_name="later")
    authenticated = authenticated_views(app, get_service)

    @app.route("/v1/models/{model}", methods=["DELETE"])
    @authenticated
    def delete_model(service, tenant, request, model):
        return 200, {"deleted": model}

    @app.route("/v1/models/{model}/alerts/{alert_id}/resolve", methods=["POST"])
    @authenticated
    def resolve(service, tenant, request, model, alert_id):
        return 200, {"resolved": alert_id}

    host = ApiHost({"Later": app})
    statuses = {
        (route, name): host.invoke(method, route, {"authorization": f"Bearer {key}"}, None)[0]
        for method, route in (("DELETE", "/v1/models/churn"), ("POST", "/v1/models/churn/alerts/7/resolve"))
        for name, key in {**keys, "tenant's first": tenant.api_key}.items()
    }
    assert set(statuses.values()) == {200, 403}
    assert {k for k, v in statuses.items() if v == 200} == {
        ("/v1/models/churn", "admin"),
        ("/v1/models/churn", "tenant's first"),
        ("/v1/models/churn/alerts/7/resolve", "admin"),
        ("/v1/models/churn/alerts/7/resolve", "tenant's first"),
    }


def test_a_declared_scope_must_be_a_known_one():
    app = Chalice(app_name="typo")
    with pytest.raises(ValueError, match="declares scopes"):
        authenticated_views(app, lambda: None)(scope="write")


# --- expiry --------------------------------------------------------------------------------------
def test_an_expired_key_is_refused_with_401_saying_it_expired(api, tenant, tenant_admin):
    key = tenant_admin.create_key(tenant.name, ["read"], datetime.now(UTC) + timedelta(hours=1))
    assert api.get("/v1/models", key).status == 200
    prefix = key.split("_")[1]
    with tenant_admin.admin_connection() as conn:
        conn.execute("UPDATE api_keys SET expires_at = '2026-01-02T03:04:05Z' WHERE prefix = %s", (prefix,))
    reply = api.get("/v1/models", key)
    assert (reply.status, reply.error["code"]) == (401, "unauthorized")
    assert reply.error["message"] == (
        "this API key expired at 2026-01-02T03:04:05+00:00; ask an operator for a new one"
    )
    # A forged key with that prefix learns nothing of the expiry.
    forged = api.get("/v1/models", key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB"))
    assert (forged.status, forged.error["message"]) == (401, "invalid API key")
    assert api.get("/v1/models", tenant.api_key).status == 200


# --- the migration -------------------------------------------------------------------------------
def test_keys_made_before_scopes_become_admin_and_new_rows_must_name_theirs(settings, tenant_admin, monkeypatch):
    from seia import migrate
    from seia.db import superuser_connect

    db = f"{settings.db_prefix}_keymigration"
    with superuser_connect(settings) as server:
        server.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(db)))
    all_migrations = migrate.load("admin")
    with superuser_connect(settings, db) as conn:
        monkeypatch.setattr(migrate, "load", lambda kind: [m for m in all_migrations if m.version == 1])
        assert migrate.apply(conn, "admin") == [1]
        tenant_id = conn.execute(
            "INSERT INTO tenants (name, db_name, role_name) VALUES ('old', 'old_db', 'old_role') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO api_keys (tenant_id, prefix, key_hash) VALUES (%s, 'aaaaaaaaaa', '\\x00'), "
            "(%s, 'bbbbbbbbbb', '\\x01')",
            (tenant_id, tenant_id),
        )
        monkeypatch.setattr(migrate, "load", lambda kind: all_migrations)
        assert 2 in migrate.apply(conn, "admin")
        rows = conn.execute("SELECT prefix, scopes, expires_at FROM api_keys ORDER BY prefix").fetchall()
        assert rows == [("aaaaaaaaaa", ["admin"], None), ("bbbbbbbbbb", ["admin"], None)]
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(
                "INSERT INTO api_keys (tenant_id, prefix, key_hash) VALUES (%s, 'cccccccccc', '\\x02')", (tenant_id,)
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO api_keys (tenant_id, prefix, key_hash, scopes) VALUES (%s, 'dddddddddd', '\\x03', '{write}')",
                (tenant_id,),
            )


# --- the CLI -------------------------------------------------------------------------------------
def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_key_create_takes_scopes_repeated_or_comma_separated_and_an_expiry(capsys, api, tenant):
    code, out, err = _run(capsys, "key", "create", tenant.name, "--scope", "read", "--scope", "ingest,read")
    assert code == 0, err
    created = json.loads(out)
    assert created["scopes"] == ["ingest", "read"] and created["expires_at"] is None
    assert api.get("/v1/key", created["api_key"]).body["scopes"] == ["ingest", "read"]
    code, out, err = _run(capsys, "key", "create", tenant.name, "--scope", "admin", "--expires", "90d")
    assert code == 0, err
    expires = datetime.fromisoformat(json.loads(out)["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)
    day = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    code, out, _ = _run(capsys, "key", "create", tenant.name, "--scope", "read", "--expires", day)
    assert json.loads(out)["expires_at"] == f"{day}T00:00:00+00:00"  # a date alone: its 00:00 UTC
    code, out, _ = _run(capsys, "key", "create", tenant.name, "--scope", "read", "--expires", "12h")
    assert code == 0
    assert api.get("/v1/key", json.loads(out)["api_key"]).body["expires_at"] == json.loads(out)["expires_at"]


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "error: a key needs at least one scope\n  --scope: give one or more of ingest, read, admin"),
        (["--scope", "write"], "error: unknown scope 'write'\n  --scope: must be one of ingest, read, admin"),
        (["--scope", "read", "--expires", "soon"], "error: --expires 'soon' is neither a duration nor a date"),
        (["--scope", "read", "--expires", "2020-01-01"], "error: --expires '2020-01-01' is not in the future"),
        (["--scope", "read", "--expires", "99999999999999d"], "error: --expires '99999999999999d' is too far away"),
        (["--scope", "read", "--expires", "2200-06-30"], "error: --expires '2200-06-30' is too far away"),
    ],
)
def test_key_create_refuses_what_it_cannot_honour_and_writes_nothing(capsys, tenant, tenant_admin, argv, message):
    code, out, err = _run(capsys, "key", "create", tenant.name, *argv)
    assert code == 2 and out == ""
    assert err.startswith(message)
    assert len(tenant_admin.list_keys(tenant.name)) == 1  # the tenant's first key only


def test_key_list_shows_scopes_expiry_and_status_never_the_key(capsys, tenant, tenant_admin):
    read = tenant_admin.create_key(tenant.name, ["read"], datetime.now(UTC) + timedelta(days=30))
    ingest = tenant_admin.create_key(tenant.name, ["ingest"])
    old = tenant_admin.create_key(tenant.name, ["read", "ingest"])
    tenant_admin.revoke_key(ingest.split("_")[1])
    with tenant_admin.admin_connection() as conn:
        conn.execute(
            "UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE prefix = %s", (old.split("_")[1],)
        )
    code, out, err = _run(capsys, "key", "list", tenant.name)
    assert code == 0, err
    listed = json.loads(out)
    for key in (tenant.api_key, read, ingest, old):
        assert key not in out and key.split("_", 2)[2] not in out
    assert [(k["prefix"], k["scopes"], k["status"]) for k in listed] == [
        ("seia_" + tenant.api_key.split("_")[1], ["admin"], "active"),
        ("seia_" + read.split("_")[1], ["read"], "active"),
        ("seia_" + ingest.split("_")[1], ["ingest"], "revoked"),
        ("seia_" + old.split("_")[1], ["ingest", "read"], "expired"),
    ]
    assert listed[0]["expires_at"] is None and listed[1]["expires_at"].startswith(
        (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    )
    code, out, _ = _run(capsys, "tenant", "list")
    assert [t["active_keys"] for t in json.loads(out) if t["tenant"] == tenant.name] == [2]
    code, _, err = _run(capsys, "key", "list", "no-such-tenant")
    assert code == 2 and err.startswith("error: no tenant named 'no-such-tenant'")


# --- the OpenAPI document ------------------------------------------------------------------------
def test_the_openapi_document_names_each_operations_scopes_and_its_403():
    from seia_query.openapi import document

    doc = document(include_planned=False)
    assert "scope" in doc["components"]["securitySchemes"]["apiKey"]["description"]
    assert "ingest" in doc["components"]["securitySchemes"]["apiKey"]["description"]
    assert doc["components"]["responses"]["E403"]["description"].startswith("the key's scopes do not allow")
    for (method, path), needs in _served().items():
        op = doc["paths"][path][method.lower()]
        if needs == PUBLIC:
            assert op["security"] == [] and "x-seia-scopes" not in op and "403" not in op["responses"]
            continue
        assert set(op["x-seia-scopes"]) == needs, (method, path)
        assert op["responses"]["403"] == {"$ref": "#/components/responses/E403"}
        assert op["description"].startswith("Needs a key with scope ")


def test_keys_without_admin_see_model_settings_without_the_receivers_urls(api, tenant, keys):
    # Given a model whose settings name a Slack webhook (its URL is the credential) and a plain webhook
    slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    put = api.request(
        "PUT",
        "/v1/models/churn/settings",
        tenant.api_key,
        json_body={
            "notifications": [{"type": "slack", "url": slack}],
            "webhook_url": "https://hooks.example.com/p/TOKEN",
        },
    )
    assert put.status == 200
    # When the admin, read and ingest keys read it, Then only the admin key sees the URLs
    assert api.get("/v1/models/churn", tenant.api_key).body["settings"]["notifications"][0]["url"] == slack
    for scope in ("read", "ingest"):
        settings = api.get("/v1/models/churn", keys[scope]).body["settings"]
        assert settings["notifications"] == [{"type": "slack", "url": "https://hooks.slack.com/…"}], scope
        assert settings["webhook_url"] == "https://hooks.example.com/…", scope
    listed = api.get("/v1/models", keys["read"]).body
    assert "SECRET" not in json.dumps(listed) and "TOKEN" not in json.dumps(listed)
