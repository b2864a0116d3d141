"""In AWS, role passwords live in Secrets Manager: the CLI writes them, the functions read them."""

import boto3
import psycopg
import pytest
from moto import mock_aws

from seia.credentials import SecretsManagerCredentials
from seia.tenancy import TenantAdmin


@pytest.fixture
def sm_settings(settings, monkeypatch):
    # A prefix of its own: these roles get real random passwords, unlike the rest of the run.
    from dataclasses import replace

    return replace(settings, credentials="secretsmanager", db_prefix=settings.db_prefix + "sm")


@mock_aws
def test_tenant_roles_get_random_passwords_stored_in_secrets_manager(sm_settings):
    from seia import credentials

    credentials._store_for.cache_clear()
    admin = TenantAdmin(sm_settings)
    created = admin.create_tenant("smtenant")
    client = boto3.client("secretsmanager", region_name="us-east-1")
    names = {s["Name"] for s in client.list_secrets()["SecretList"]}
    role = created.tenant.role_name
    assert f"seia/db/{role}" in names and f"seia/db/{sm_settings.api_role}" in names
    store = SecretsManagerCredentials(client, "seia")
    password = store.password(role)
    assert len(password) >= 40
    # The stored password is the one PostgreSQL has for the role (checked through pg_authid's hash).
    with psycopg.connect(sm_settings.database_url) as conn:
        verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]
    assert verifier.startswith("SCRAM-SHA-256$") or verifier.startswith("md5")
    assert password not in verifier
    admin.drop_tenant("smtenant")
    credentials._store_for.cache_clear()


@mock_aws
def test_a_servers_admin_password_is_a_secret_of_its_own():
    client = boto3.client("secretsmanager", region_name="us-east-1")
    store = SecretsManagerCredentials(client, "seia")
    assert store.server_password("second") is None
    store.put_server_password("second", "first-pw")
    store.put_server_password("second", "rotated-pw")  # a rotated password replaces the old one
    assert store.server_password("second") == "rotated-pw"
    assert {s["Name"] for s in client.list_secrets()["SecretList"]} == {"seia/server/second"}
