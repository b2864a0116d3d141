"""Webhook signing secrets in AWS: Secrets Manager holds them (moto); a rotation replaces the one in force."""

from dataclasses import replace

import boto3
import pytest
from moto import mock_aws

from seia.signing import SigningSecrets


@pytest.fixture
def secretsmanager(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_a_secret_is_stored_under_the_tenant_and_rotation_replaces_it(settings, secretsmanager):
    store = SigningSecrets(replace(settings, credentials="secretsmanager", secret_prefix="seia"), secretsmanager)
    key_id, secret = store.create("acme")
    assert secret.startswith("whsec_") and len(secret) > 40
    names = [s["Name"] for s in secretsmanager.list_secrets()["SecretList"]]
    assert names == ["seia/signing/acme"]
    assert store.secret("acme", key_id) == secret

    new_id, new_secret = store.create("acme")
    assert new_secret != secret and store.secret("acme", new_id) == new_secret
    # the admin database still naming the old id (a rotation half done) signs nothing with a wrong secret
    with pytest.raises(ValueError, match="not the one the admin database names"):
        store.secret("acme", key_id)


def test_derived_secrets_differ_by_tenant_and_key_id(settings):
    store = SigningSecrets(replace(settings, credentials="derived"))
    key_id, secret = store.create("acme")
    assert store.secret("acme", key_id) == secret
    assert store.secret("other", key_id) != secret and store.secret("acme", "0" * 16) != secret
