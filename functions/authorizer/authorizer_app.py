"""API Gateway REQUEST authorizer: the Seia key's tenant, and the usage-plan key that throttles it."""

from __future__ import annotations

import functools

from seia import auth, usage_plan
from seia.access import TenantAccess
from seia.config import get_settings
from seia.errors import Unauthorized


@functools.lru_cache(maxsize=1)
def get_access() -> TenantAccess:
    return TenantAccess(get_settings())


def handler(event, context):
    headers = event.get("headers") or {}
    try:
        caller = get_access().authenticate(headers)
    except Unauthorized:
        raise Exception("Unauthorized") from None  # API Gateway's way to answer 401
    prefix = auth.key_prefix(auth.bearer_key(headers))
    assert prefix is not None  # authenticate() accepted the key
    return usage_plan.allow(caller.tenant.name, prefix, event["methodArn"])
