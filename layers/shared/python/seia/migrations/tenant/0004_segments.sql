-- Per-segment statistics for probable causes, stored so that a cause merges a few stored rows
-- instead of scanning raw rows per alert. A segment is a reference decile of a numeric feature
-- (the 1-based bucket of width_bucket over drift_features.segments, as text), a category of a
-- categorical one, or the feature's missing values (segment NULL). Mergeable by summation.
-- See docs/drift.md ("Probable causes").

-- Per hour: recomputed whole by the labels step for every hour with new rows or new/corrected
-- labels (so a corrected label replaces the old one), dropped with the reference (the deciles change).
CREATE TABLE drift_segments_hourly (
    model_id  integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL,
    feature   text NOT NULL,
    segment   text,                   -- NULL: the feature is missing
    rows      bigint NOT NULL,
    pred_sum  float8 NOT NULL,        -- score (binary), prediction (regression); 0 for multiclass
    pred_n    bigint NOT NULL,
    labeled   bigint NOT NULL,
    err_sum   float8 NOT NULL,        -- misclassified rows, or sum of absolute errors (regression)
    y_sum     float8 NOT NULL,        -- positive labels (binary), sum of labels (regression)
    classes   jsonb                   -- multiclass: {class: [predicted, labelled]}
);
CREATE INDEX drift_segments_hourly_hour ON drift_segments_hourly (model_id, hour);

-- The reference's, computed once when the reference is built.
CREATE TABLE drift_segments_reference (
    model_id  integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    feature   text NOT NULL,
    segment   text,
    rows      bigint NOT NULL,
    pred_sum  float8 NOT NULL,
    pred_n    bigint NOT NULL,
    labeled   bigint NOT NULL,
    err_sum   float8 NOT NULL,
    y_sum     float8 NOT NULL,
    classes   jsonb
);
CREATE INDEX drift_segments_reference_model ON drift_segments_reference (model_id);

-- Models already monitored: the labels step starts over, so every stored hour gets its segments
-- (the reference's are counted by the cause step the first time it finds none).
DELETE FROM drift_watermarks WHERE step = 'labels';
