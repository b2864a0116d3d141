-- Delivery of incident changes (incident_changes, migration 0005) to the notification channels of their model.
-- One row per (change, channel): the drift worker's notify step enqueues the changes of a run for every channel in
-- force, sends one message per model and channel listing them, and retries a failed message on later runs with
-- exponential backoff (next_attempt_at) until `attempts` reaches its bound (status 'failed').
CREATE TABLE deliveries (
    change_id        bigint NOT NULL REFERENCES incident_changes(id) ON DELETE CASCADE,
    model_id         integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    channel          text NOT NULL,        -- seia.channels.Channel.key: type and a hash of the URL or topic
    channel_type     text NOT NULL CHECK (channel_type IN ('slack', 'webhook', 'sns')),
    channel_label    text NOT NULL,        -- what the API shows: a name, or the type and host (never a URL's path)
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dropped')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (change_id, channel)
);
CREATE INDEX deliveries_pending ON deliveries (model_id, channel, change_id) WHERE status = 'pending';

-- Tenant-wide settings (one row per key): 'notifications', the channels of models without their own.
CREATE TABLE tenant_settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
