-- What each API key may do (seia.scopes) and until when. Keys that exist keep doing everything: admin.
ALTER TABLE api_keys ADD COLUMN scopes text[] NOT NULL DEFAULT ARRAY['admin']::text[];
-- New keys name their scopes: no default, so nothing becomes admin by omission.
ALTER TABLE api_keys ALTER COLUMN scopes DROP DEFAULT;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_known
    CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['ingest', 'read', 'admin']::text[]);
-- NULL: never expires.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
