-- Each tenant's webhook signing secret, by its id (shown in no header: rotation replaces the row). The secret itself
-- is never here: locally it is HMAC-SHA256(SEIA_SECRET_KEY, "signing/<tenant>/<key_id>"), in AWS the Secrets
-- Manager secret <SecretPrefix>/signing/<tenant> (seia.signing).
CREATE TABLE signing_keys (
    tenant_id   integer PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    key_id      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
