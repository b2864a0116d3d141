-- Tenant database: models, predictions, ground truths and the reference set.
CREATE TABLE models (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    task        text NOT NULL CHECK (task IN ('binary_classification', 'multiclass_classification', 'regression')),
    -- [{"name", "type"}] in declaration order. Numeric features are stored, in that order, in
    -- the rows' num[] column, categorical ones in cat[].
    features    jsonb NOT NULL,
    labels      jsonb,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Wide typed rows: one float8[] and one text[] per row rather than a JSONB document
-- (a third of the size per million rows, and width_bucket() works on num[i] directly).
CREATE TABLE predictions (
    model_id          integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    prediction_id     text NOT NULL,
    ts                timestamptz NOT NULL,
    num               double precision[] NOT NULL,
    cat               text[] NOT NULL,
    prediction_label  text,              -- classification
    prediction_value  double precision,  -- regression
    score             double precision,  -- probability of the positive class (binary)
    scores            double precision[],-- per class, in the model's label order
    received_at       timestamptz NOT NULL DEFAULT now(),
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (model_id, prediction_id)
);
CREATE INDEX predictions_model_ts ON predictions (model_id, ts);
CREATE INDEX predictions_model_seq ON predictions (model_id, seq);

CREATE SEQUENCE ground_truth_seq;
CREATE TABLE ground_truths (
    model_id       integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    prediction_id  text NOT NULL,
    label          text,              -- classification
    label_value    double precision,  -- regression
    ts             timestamptz,
    received_at    timestamptz NOT NULL DEFAULT now(),
    -- Bumped on every write, so the drift engine sees late and corrected labels.
    seq            bigint NOT NULL DEFAULT nextval('ground_truth_seq'),
    PRIMARY KEY (model_id, prediction_id)
);
CREATE INDEX ground_truths_model_seq ON ground_truths (model_id, seq);

CREATE TABLE reference_rows (
    model_id          integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    prediction_id     text NOT NULL,
    ts                timestamptz NOT NULL,
    num               double precision[] NOT NULL,
    cat               text[] NOT NULL,
    prediction_label  text,
    prediction_value  double precision,
    score             double precision,
    scores            double precision[],
    label             text,
    label_value       double precision,
    received_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, prediction_id)
);

-- Bumped whenever a model's reference set changes, so derived results know to rebuild.
CREATE TABLE reference_versions (
    model_id    integer PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    version     integer NOT NULL DEFAULT 1,
    rows        bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
