-- The drift engine: watermarks, reference bins, hourly sketches, results, alerts and causes.
-- See docs/drift.md.

-- Every row carries the id of the transaction that wrote it. The engine takes only rows of
-- transactions older than the oldest one still running (pg_snapshot_xmin), so a transaction that
-- commits late is never skipped and never counted twice; a `seq` watermark would skip it.
ALTER TABLE predictions ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX predictions_model_xid ON predictions (model_id, xid);
ALTER TABLE ground_truths ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX ground_truths_model_xid ON ground_truths (model_id, xid);
-- A corrected label is written by UPDATE (ON CONFLICT DO UPDATE): it must carry its new writer too.
CREATE FUNCTION ground_truths_stamp_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.xid := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER ground_truths_stamp_xid BEFORE UPDATE ON ground_truths
    FOR EACH ROW EXECUTE FUNCTION ground_truths_stamp_xid();

-- Bumped on every write of a derived row, so each step finds what changed since its watermark.
-- Writers of one model are serialised by an advisory lock, so per model it grows in commit order.
CREATE SEQUENCE drift_change_seq;

-- Each step's position: a transaction horizon (xid) for steps reading raw rows, a change number
-- for steps reading derived rows. Written in the same transaction as the step's results.
CREATE TABLE drift_watermarks (
    model_id    integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    step        text NOT NULL,
    xid         xid8,
    change      bigint,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, step)
);

-- The reference the results of a model are computed against.
CREATE TABLE drift_references (
    model_id      integer PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    reference_key text NOT NULL,          -- 'uploaded:<version>' or 'window:<start>'
    source        text NOT NULL CHECK (source IN ('uploaded', 'first_window')),
    window_start  timestamptz,            -- first_window: the window taken as reference
    window_end    timestamptz,
    rows          bigint NOT NULL,
    labeled       bigint NOT NULL,
    performance   jsonb,                  -- sufficient statistics of the labelled reference rows
    metrics       jsonb,                  -- and their metrics
    built_at      timestamptz NOT NULL DEFAULT now()
);

-- Per model and feature (and the virtual features __prediction__, __score__, __label__):
-- fine bins fixed from the reference, decile segments for probable causes, the reference sketch.
CREATE TABLE drift_features (
    model_id   integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    feature    text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('numeric', 'categorical')),
    source     text NOT NULL CHECK (source IN ('feature', 'prediction', 'score', 'label')),
    position   integer NOT NULL,          -- 1-based slot in the profiled num[]/cat[] arrays
    edges      float8[],                  -- numeric: width_bucket edges
    segments   float8[],                  -- numeric: reference deciles
    reference  jsonb NOT NULL,            -- reference sketch (numeric: without edges)
    PRIMARY KEY (model_id, feature)
);

-- Hourly sketch per feature. Features and predictions are merged in additively as rows arrive
-- (late rows update their own hour); the label sketch is recomputed for every hour labels touch.
CREATE TABLE drift_sketches (
    model_id  integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL,
    feature   text NOT NULL,
    rows      bigint NOT NULL,
    missing   bigint NOT NULL,
    sketch    jsonb NOT NULL,
    change    bigint NOT NULL DEFAULT nextval('drift_change_seq'),
    PRIMARY KEY (model_id, hour, feature)
);
CREATE INDEX drift_sketches_change ON drift_sketches (model_id, change);

-- Hourly performance statistics (mergeable: confusion counts, score histograms, error sums).
CREATE TABLE drift_performance_hourly (
    model_id  integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL,
    rows      bigint NOT NULL,
    labeled   bigint NOT NULL,
    stats     jsonb,
    change    bigint NOT NULL DEFAULT nextval('drift_change_seq'),
    PRIMARY KEY (model_id, hour)
);
CREATE INDEX drift_performance_hourly_change ON drift_performance_hourly (model_id, change);

-- Per evaluation window (granularity from the model's settings) and feature: what the query API shows.
CREATE TABLE drift_results (
    model_id      integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    granularity   text NOT NULL CHECK (granularity IN ('hour', 'day')),
    window_start  timestamptz NOT NULL,
    feature       text NOT NULL,
    kind          text NOT NULL,
    rows          bigint NOT NULL,
    missing_rate  float8,
    verdict       text NOT NULL CHECK (verdict IN ('drift', 'no_drift', 'insufficient_data')),
    severity      text CHECK (severity IN ('low', 'medium', 'high')),
    signals       text[] NOT NULL DEFAULT '{}',
    driver        text,
    effect_ratio  float8,
    statistics    jsonb NOT NULL,   -- ks, wasserstein(_normed), psi, js, chi2, unseen share, means, q-values
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, granularity, window_start, feature)
);

-- Per evaluation window: rows, drift summary, realized performance and label coverage.
CREATE TABLE drift_windows (
    model_id          integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    granularity       text NOT NULL CHECK (granularity IN ('hour', 'day')),
    window_start      timestamptz NOT NULL,
    window_end        timestamptz NOT NULL,
    rows              bigint NOT NULL DEFAULT 0,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'ok', 'insufficient_data')),
    drifted_features  integer NOT NULL DEFAULT 0,
    labeled           bigint NOT NULL DEFAULT 0,
    coverage          float8,
    provisional       boolean NOT NULL DEFAULT true,
    metrics           jsonb,
    change            bigint NOT NULL DEFAULT nextval('drift_change_seq'),
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, granularity, window_start)
);
CREATE INDEX drift_windows_change ON drift_windows (model_id, change);

-- One alert per condition and window (and reference): re-running never repeats it.
CREATE TABLE drift_alerts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id         integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    granularity      text NOT NULL,
    window_start     timestamptz NOT NULL,
    kind             text NOT NULL CHECK (kind IN
                     ('feature_drift', 'prediction_drift', 'label_drift', 'performance', 'data_quality')),
    subject          text NOT NULL,      -- the feature, or the metric
    condition        text NOT NULL,      -- distribution, missing_rate, new_category, unit_change, accuracy, rmse
    severity         text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    message          text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    reference_key    text NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    notified_at      timestamptz,
    notify_attempts  integer NOT NULL DEFAULT 0,
    notify_error     text,
    UNIQUE (model_id, kind, subject, condition, granularity, window_start, reference_key)
);
CREATE INDEX drift_alerts_model_window ON drift_alerts (model_id, window_start);

-- Probable causes of an alert, ranked.
CREATE TABLE drift_causes (
    alert_id  bigint NOT NULL REFERENCES drift_alerts(id) ON DELETE CASCADE,
    rank      integer NOT NULL,
    feature   text NOT NULL,
    segment   text,
    score     float8 NOT NULL,
    sentence  text NOT NULL,
    details   jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (alert_id, rank)
);
