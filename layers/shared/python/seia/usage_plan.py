"""Throttling per Seia key in AWS: each Seia key stands for one API key of the usage plan.

API Gateway throttles per API key of a usage plan, and Seia's clients send their own bearer key, never
an API Gateway key. With ``ApiKeySourceType: AUTHORIZER`` the REQUEST authorizer checks the Seia key and
returns, as ``usageIdentifierKey``, the value of the API Gateway key created for it by
``seia usage-plan sync``: derived from the key's public prefix, so that it never reveals the secret (the
client cannot send it in that mode anyway).
"""

from __future__ import annotations

USAGE_KEY_PREFIX = "seia-usage-key-"  # API Gateway key values are at least 20 characters


def usage_identifier(key_prefix: str) -> str:
    """The API Gateway key value (and name) that stands for the Seia key with this prefix."""
    return USAGE_KEY_PREFIX + key_prefix


def allow(principal: str, key_prefix: str, method_arn: str) -> dict:
    """The authorizer's answer: every route of the stage (API Gateway caches it per Authorization header)."""
    api, stage = method_arn.split("/")[:2]
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{api}/{stage}/*"}],
        },
        "usageIdentifierKey": usage_identifier(key_prefix),
        "context": {"tenant": principal},
    }
