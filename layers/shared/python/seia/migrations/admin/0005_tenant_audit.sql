-- What operators did to tenants that may be gone: `seia tenant delete` removes every row of a tenant from this
-- database and leaves one line here (its name, when, who, what was removed), nothing else.
CREATE TABLE tenant_audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant    text NOT NULL,
    action    text NOT NULL CHECK (action IN ('deleted')),
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL DEFAULT session_user,
    details   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX tenant_audit_tenant ON tenant_audit (tenant, at);
