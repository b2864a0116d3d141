-- Database servers tenants live on, and the state of a tenant being moved from one to another.
CREATE TABLE servers (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    -- NULL on the server named 'default': the functions reach it at SEIA_DB_HOST/PORT and the CLI as DATABASE_URL.
    host        text,
    port        integer,
    -- The role (superuser, or a managed service's admin with CREATEDB and CREATEROLE) and maintenance database
    -- the CLI connects as to create, copy and drop tenant databases. Its password is in the credential store
    -- (credentials.py: server/<name>), never in this table.
    admin_user  text,
    admin_db    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (host, port)
);
INSERT INTO servers (name) VALUES ('default');
-- Tenants already moved by hand (db_host set) get a server row of their own; `seia server add` with that name
-- gives it credentials.
INSERT INTO servers (name, host, port)
SELECT DISTINCT left(regexp_replace(lower(db_host || '-' || coalesce(db_port, 5432)), '[^a-z0-9_-]+', '-', 'g'), 40),
       db_host, coalesce(db_port, 5432)
FROM tenants WHERE db_host IS NOT NULL;

ALTER TABLE tenants
    ADD COLUMN server_id integer REFERENCES servers(id),
    -- Raised each time the tenant's database changes place: a function holding connections opened under an
    -- older epoch closes them (db.py).
    ADD COLUMN epoch integer NOT NULL DEFAULT 0,
    -- A move in progress (tenancy_move.py): 'copying' (the source takes writes), 'cutover' (the source is
    -- read-only while it is copied), 'switched' (the tenant lives on move_to; the old copy is still to drop).
    ADD COLUMN move_state text CHECK (move_state IN ('copying', 'cutover', 'switched')),
    ADD COLUMN move_to integer REFERENCES servers(id),
    ADD COLUMN move_from integer REFERENCES servers(id),
    -- During a cutover: when writes are expected back (clients get it as Retry-After).
    ADD COLUMN paused_until timestamptz,
    ADD CONSTRAINT tenants_move_complete CHECK ((move_state IS NULL) = (move_to IS NULL AND move_from IS NULL));

UPDATE tenants t SET server_id = s.id
FROM servers s
WHERE (t.db_host IS NULL AND s.name = 'default')
   OR (t.db_host IS NOT NULL AND s.host = t.db_host AND s.port = coalesce(t.db_port, 5432));
ALTER TABLE tenants ALTER COLUMN server_id SET NOT NULL;
CREATE INDEX tenants_server ON tenants (server_id);
