-- Admin database: tenants, where their databases live, and their hashed API keys.
CREATE TABLE tenants (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    db_name     text NOT NULL UNIQUE,
    role_name   text NOT NULL UNIQUE,
    -- NULL: the default server (SEIA_DB_HOST/PORT). Moving a tenant to another instance is
    -- changing these two columns after copying its database.
    db_host     text,
    db_port     integer,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   integer NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- The public part of the key (seia_<prefix>_<secret>): finds the row, proves nothing.
    prefix      text NOT NULL UNIQUE,
    -- SHA-256 of the whole key. Keys carry 256 random bits, so a fast hash is the right one.
    key_hash    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
