"""AWS throttles each Seia key on its own: the authorizer names the key's usage-plan key; `seia usage-plan sync` keeps
one in the plan per working key."""

from __future__ import annotations

import authorizer_app
import boto3
import pytest
from moto import mock_aws

from seia import auth
from seia.usage_plan import usage_identifier
from seia_admin.usage_plans import sync

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/POST/v1/models/churn/predictions"


def _event(key: str | None) -> dict:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers}


def test_a_working_key_is_allowed_on_every_route_under_its_own_usage_key(tenant):
    answer = authorizer_app.handler(_event(tenant.api_key), None)
    prefix = auth.key_prefix(tenant.api_key)
    assert answer["usageIdentifierKey"] == f"seia-usage-key-{prefix}"
    assert answer["principalId"] == tenant.name
    assert answer["policyDocument"]["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/api/*",
        }
    ]


@pytest.mark.parametrize("key", [None, "seia_0123456789_" + "x" * 43, "not-a-key"])
def test_a_missing_or_unknown_key_is_unauthorized(tenant_admin, key):
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorizer_app.handler(_event(key), None)


def test_a_revoked_key_is_unauthorized(tenant, tenant_admin):
    tenant_admin.revoke_key(tenant.api_key)
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorizer_app.handler(_event(tenant.api_key), None)


def test_sync_puts_one_usage_key_per_working_key_in_the_plan_and_removes_revoked_ones(
    settings, tenant_admin, make_tenant, monkeypatch
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    kept, revoked = make_tenant(), make_tenant()
    with mock_aws():
        client = boto3.client("apigateway")
        plan = client.create_usage_plan(name="keys", throttle={"rateLimit": 5, "burstLimit": 10})["id"]

        first = sync(settings, client, plan)
        in_plan = {k["name"] for k in client.get_usage_plan_keys(usagePlanId=plan)["items"]}
        for t in (kept, revoked):
            assert auth.key_prefix(t.api_key) in first.added
            assert usage_identifier(auth.key_prefix(t.api_key)) in in_plan
        value = client.get_api_keys(nameQuery=usage_identifier(auth.key_prefix(kept.api_key)), includeValues=True)
        assert [k["value"] for k in value["items"]] == [usage_identifier(auth.key_prefix(kept.api_key))]

        tenant_admin.revoke_key(revoked.api_key)
        second = sync(settings, client, plan)
        in_plan = {k["name"] for k in client.get_usage_plan_keys(usagePlanId=plan)["items"]}
        assert second.added == []
        assert second.removed == [auth.key_prefix(revoked.api_key)]
        assert usage_identifier(auth.key_prefix(revoked.api_key)) not in in_plan
        assert usage_identifier(auth.key_prefix(kept.api_key)) in in_plan
        assert client.get_api_keys(nameQuery=usage_identifier(auth.key_prefix(revoked.api_key)))["items"] == []
