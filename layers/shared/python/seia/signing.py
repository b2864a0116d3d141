"""Each tenant's webhook signing secret, and the signature of a delivery.

A webhook delivery carries ``Seia-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256(secret, ``"<t>.<body>"``) over the raw body bytes (the README gives a receiver's recipe).
``seia tenant signing-secret T`` creates or rotates the secret and prints it once. Where it lives follows
the database passwords (:mod:`seia.credentials`, ``SEIA_CREDENTIALS``):

* ``secretsmanager`` (AWS): the secret ``<SEIA_SECRET_PREFIX>/signing/<tenant>``, JSON ``{"key_id", "secret"}``;
  the drift worker may read ``<SecretPrefix>/signing/*`` only.
* ``derived`` (local): HMAC-SHA256(SEIA_SECRET_KEY, ``"signing/<tenant>/<key_id>"``); nothing secret is stored.

Either way the admin database records the tenant's current ``key_id`` (``signing_keys``), so a rotation takes
effect on the worker's next delivery and a tenant without a secret is known to have none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from seia.config import Settings

HEADER = "Seia-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for `body` sent at `timestamp`.

    Examples
    --------
    >>> signature("whsec_test", 1700000000, b'{"a":1}')
    't=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789'
    """
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class SigningSecrets:
    """Create (rotate) and read tenants' signing secrets."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self._client = client

    def _sm(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("secretsmanager")
        return self._client

    def _name(self, tenant: str) -> str:
        return f"{self.settings.secret_prefix.rstrip('/')}/signing/{tenant}"

    def _derived(self, tenant: str, key_id: str) -> str:
        if not self.settings.secret_key:
            raise ValueError("SEIA_SECRET_KEY (or .local/secret.key) is required for derived signing secrets")
        digest = hmac.new(self.settings.secret_key.encode(), f"signing/{tenant}/{key_id}".encode(), hashlib.sha256)
        return "whsec_" + base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")

    def create(self, tenant: str) -> tuple[str, str]:
        """A new (key_id, secret) for `tenant`; the caller records key_id in the admin database."""
        key_id = secrets.token_hex(8)
        if self.settings.credentials != "secretsmanager":
            return key_id, self._derived(tenant, key_id)
        secret = "whsec_" + secrets.token_urlsafe(32)
        body = json.dumps({"key_id": key_id, "secret": secret})
        client = self._sm()
        try:
            client.create_secret(Name=self._name(tenant), SecretString=body)
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=self._name(tenant), SecretString=body)
        return key_id, secret

    def delete(self, tenant: str) -> list[str]:
        """Delete the tenant's signing secret (Secrets Manager; derived ones are not stored); the names deleted."""
        if self.settings.credentials != "secretsmanager":
            return []
        client = self._sm()
        try:
            client.delete_secret(SecretId=self._name(tenant), ForceDeleteWithoutRecovery=True)
        except client.exceptions.ResourceNotFoundException:
            return []
        return [self._name(tenant)]

    def secret(self, tenant: str, key_id: str) -> str:
        """The secret `key_id` of `tenant` (raises when the store has another one: a rotation under way)."""
        if self.settings.credentials != "secretsmanager":
            return self._derived(tenant, key_id)
        stored = json.loads(self._sm().get_secret_value(SecretId=self._name(tenant))["SecretString"])
        if stored.get("key_id") != key_id:
            raise ValueError("the signing secret in Secrets Manager is not the one the admin database names")
        return str(stored["secret"])
