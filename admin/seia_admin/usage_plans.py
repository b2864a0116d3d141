"""``seia usage-plan sync``: one API Gateway key in the usage plan per working Seia key, none for revoked ones.

The authorizer (functions/authorizer) names each request's usage-plan key from the Seia key's prefix
(:func:`seia.usage_plan.usage_identifier`); API Gateway answers 403 for a key the plan lacks, so run this
after ``seia key create`` / ``seia tenant create`` (and after ``seia key revoke`` to tidy up).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seia.config import Settings
from seia.db import superuser_connect
from seia.repositories.usage_keys import KeyPrefixRepository
from seia.usage_plan import USAGE_KEY_PREFIX, usage_identifier


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0


def sync(settings: Settings, client, usage_plan_id: str) -> SyncReport:
    """Make the usage plan's keys match the admin database's working keys (``client``: boto3 apigateway)."""
    with superuser_connect(settings, settings.admin_db) as conn:
        keys = KeyPrefixRepository(conn).all()
    api_keys = {
        item["name"]: item["id"]
        for page in client.get_paginator("get_api_keys").paginate(nameQuery=USAGE_KEY_PREFIX)
        for item in page["items"]
    }
    in_plan = {
        item["id"]
        for page in client.get_paginator("get_usage_plan_keys").paginate(usagePlanId=usage_plan_id)
        for item in page["items"]
    }
    report = SyncReport()
    for prefix, revoked in keys:
        name = usage_identifier(prefix)
        key_id = api_keys.get(name)
        if revoked:
            if key_id is not None:
                if key_id in in_plan:
                    client.delete_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id)
                client.delete_api_key(apiKey=key_id)
                report.removed.append(prefix)
            continue
        if key_id is not None and key_id in in_plan:
            report.unchanged += 1
            continue
        if key_id is None:
            key_id = client.create_api_key(
                name=name, value=name, enabled=True, description="throttles the Seia key seia_" + prefix
            )["id"]
        client.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id, keyType="API_KEY")
        report.added.append(prefix)
    return report
