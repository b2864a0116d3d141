"""Tenant-wide defaults of model settings: GET/PUT /v1/settings, the client and `seia settings`, and the
retention planner using the effective value (a model's own setting wins over the tenant's default)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from seia_admin.cli import main
from tests.support import data
from tests.support.live import serving

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
SLACK = "https://hooks.slack.com/services/T0/B0/secret"


def _put(api, tenant, body, key=None):
    return api.request("PUT", "/v1/settings", key or tenant.api_key, json_body=body)


def _model(api, tenant, name: str, settings: dict | None = None) -> None:
    body = data.model()
    body["name"] = name
    if settings:
        body["settings"] = settings
    assert api.post("/v1/models", tenant.api_key, json=body).status == 201


def _predictions(api, tenant, model: str, days: list[int]) -> None:
    records = []
    for i, d in enumerate(days):
        rec = data.prediction(i)
        rec["prediction_id"] = f"{model}-{i}"
        rec["timestamp"] = (NOW - timedelta(days=d)).replace(hour=10).isoformat()
        records.append(rec)
    assert api.post(f"/v1/models/{model}/predictions", tenant.api_key, json={"records": records}).status == 202


def _maintain(settings, tenant):
    from seia_drift.db import WorkerDatabases
    from seia_drift.planner import maintain_partitions

    databases = WorkerDatabases(settings)
    try:
        with databases.tenant(tenant.tenant) as conn:
            maintain_partitions(conn, tenant.name)
            conn.commit()
    finally:
        databases.close()


def test_defaults_round_trip_and_null_goes_back_to_the_built_in_default(api, tenant):
    fresh = api.get("/v1/settings", tenant.api_key)
    assert fresh.status == 200
    assert fresh.body == {"settings": {}, "in_force": {"retention_days": 90, "notifications": []}}

    channels = [{"type": "slack", "url": SLACK, "name": "ml"}]
    reply = _put(api, tenant, {"retention_days": 30, "notifications": channels})
    assert reply.status == 200
    assert reply.body == {
        "settings": {"retention_days": 30, "notifications": channels},
        "in_force": {"retention_days": 30, "notifications": channels},
    }
    assert api.get("/v1/settings", tenant.api_key).body == reply.body
    with tenant.connect() as conn:
        assert conn.execute("SELECT value FROM tenant_defaults WHERE key = 'retention_days'").fetchone() == (30,)
        # the row the drift engine's notify step reads (and `seia tenant notifications T` writes)
        assert conn.execute("SELECT value FROM tenant_settings WHERE key = 'notifications'").fetchone() == (channels,)

    # a key sent replaces, one not sent stays, null removes
    assert _put(api, tenant, {"retention_days": 7}).body["settings"] == {"retention_days": 7, "notifications": channels}
    reply = _put(api, tenant, {"retention_days": None, "notifications": None})
    assert reply.body == {"settings": {}, "in_force": {"retention_days": 90, "notifications": []}}
    with tenant.connect() as conn:
        assert conn.execute("SELECT count(*) FROM tenant_defaults").fetchone() == (0,)


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"retention_days": 0}, "retention_days", "must be an integer >= 1 and <= 36500"),
        ({"retention_days": "30"}, "retention_days", "must be an integer"),
        ({"retention_days": 36_501}, "retention_days", "<= 36500"),
        ({"retention_days": True}, "retention_days", "must be an integer"),
        ({"window": "day"}, "window", "not a tenant-wide setting; use retention_days, notifications"),
        ({"notifications": [{"type": "sms"}]}, "notifications[0].type", "must be one of slack, webhook, sns"),
        ({"notifications": "slack"}, "notifications", "must be a list"),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field_and_nothing_is_written(api, tenant, body, field, says):
    assert _put(api, tenant, {"retention_days": 14}).status == 200
    reply = _put(api, tenant, body)
    assert reply.status == 400
    assert [d["field"] for d in reply.body["error"]["details"]] == [field]
    assert says in reply.body["error"]["details"][0]["message"]
    assert api.get("/v1/settings", tenant.api_key).body["settings"] == {"retention_days": 14}


def test_a_body_that_is_not_an_object_is_a_400(api, tenant):
    reply = _put(api, tenant, [1, 2])
    assert reply.status == 400 and "JSON object" in reply.body["error"]["details"][0]["message"]


def test_only_admin_keys_change_defaults_and_read_keys_see_receivers_hidden(api, tenant, tenant_admin):
    read = tenant_admin.create_key(tenant.name, ["read"])
    assert _put(api, tenant, {"notifications": [{"type": "slack", "url": SLACK}]}).status == 200
    refused = _put(api, tenant, {"retention_days": 1}, key=read)
    assert refused.status == 403
    seen = api.get("/v1/settings", read).body
    assert seen["settings"]["notifications"] == [{"type": "slack", "url": "https://hooks.slack.com/…"}]
    assert seen["in_force"]["notifications"] == [{"type": "slack", "url": "https://hooks.slack.com/…"}]
    assert "retention_days" not in api.get("/v1/settings", tenant.api_key).body["settings"]


def test_defaults_are_per_tenant(api, make_tenant):
    one, other = make_tenant(), make_tenant()
    assert _put(api, one, {"retention_days": 3}).status == 200
    assert api.get("/v1/settings", other.api_key).body["in_force"]["retention_days"] == 90


def test_the_tenant_default_drops_old_partitions_of_a_model_without_its_own_and_a_models_90_keeps_them(
    api, tenant, settings
):
    _model(api, tenant, "follows")  # no retention_days of its own: the tenant's default applies
    _model(api, tenant, "keeps", {"retention_days": 90})
    for name in ("follows", "keeps"):
        _predictions(api, tenant, name, [60, 30, 1])
    assert _put(api, tenant, {"retention_days": 7}).status == 200
    _maintain(settings, tenant)

    with tenant.connect() as conn:
        kept = {
            name: sorted(
                r[0]
                for r in conn.execute(
                    "SELECT p.prediction_id FROM predictions p JOIN models m ON m.id = p.model_id WHERE m.name = %s",
                    (name,),
                )
            )
            for name in ("follows", "keeps")
        }
        horizons = dict(
            conn.execute("SELECT m.name, h.horizon FROM raw_horizons h JOIN models m ON m.id = h.model_id").fetchall()
        )
    assert kept == {"follows": ["follows-2"], "keeps": ["keeps-0", "keeps-1", "keeps-2"]}
    assert set(horizons) == {"follows"} and horizons["follows"] <= NOW - timedelta(days=7)

    # the model's own setting removed: it follows the tenant's default from the next plan on
    assert (
        api.request("PUT", "/v1/models/keeps/settings", tenant.api_key, json_body={"retention_days": None}).status
        == 200
    )
    _maintain(settings, tenant)
    with tenant.connect() as conn:
        left = conn.execute(
            "SELECT count(*) FROM predictions p JOIN models m ON m.id = p.model_id WHERE m.name = 'keeps'"
        ).fetchone()[0]
    assert left == 1


def test_client_and_cli_show_and_set_defaults(tenant, monkeypatch, capsys):
    from seia_client.client import Client

    with serving() as url:
        client = Client(url, tenant.api_key)
        assert client.update_tenant_settings(retention_days=30)["in_force"]["retention_days"] == 30
        assert client.tenant_settings()["settings"] == {"retention_days": 30}

        monkeypatch.setenv("SEIA_URL", url)
        monkeypatch.setenv("SEIA_API_KEY", tenant.api_key)
        assert main(["settings", "set", "retention_days=14"]) == 0
        out = capsys.readouterr().out
        header, _, *rows = out.splitlines()
        assert header.split()[:3] == ["SETTING", "TENANT", "DEFAULT"]
        by_key = {r.split()[0]: r.split()[1:] for r in rows}
        assert by_key["retention_days"] == ["14", "14"]
        assert by_key["notifications"] == ["-", "[]", "(default)"]

        assert main(["settings", "show", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["settings"] == {"retention_days": 14}

        assert main(["settings", "set", "retention_days=0"]) == 2
        err = capsys.readouterr().err
        assert "HTTP 400" in err and "retention_days: must be an integer >= 1" in err
        assert main(["settings", "set", "retention_days"]) == 2
        assert "give KEY=VALUE" in capsys.readouterr().err
        assert client.tenant_settings()["settings"] == {"retention_days": 14}
