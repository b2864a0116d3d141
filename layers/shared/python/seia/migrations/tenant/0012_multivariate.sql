-- Multivariate drift (data reconstruction with a PCA of the reference): see docs/drift.md ("Multivariate drift").

-- The reconstruction fitted on the reference (encoding, components, the reference's error band), refitted
-- when the reference changes (its key differs). fit is NULL when there is nothing to reconstruct (fewer
-- than two encoded columns or too few reference rows).
CREATE TABLE drift_multivariate (
    model_id       integer PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    reference_key  text NOT NULL,
    fit            jsonb,
    built_at       timestamptz NOT NULL DEFAULT now()
);

-- Hourly sketch of the rows' reconstruction errors (count, mean, M2, histogram on the fit's bins, squared
-- residual per feature): mergeable, so a window or any range is the merge of its hours.
CREATE TABLE drift_multivariate_hourly (
    model_id  integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL,
    rows      bigint NOT NULL,
    sketch    jsonb NOT NULL,
    change    bigint NOT NULL DEFAULT nextval('drift_change_seq'),
    PRIMARY KEY (model_id, hour)
);
CREATE INDEX drift_multivariate_hourly_change ON drift_multivariate_hourly (model_id, change);

-- The new incident kind (the CHECKs were declared inline in 0005, so they carry PostgreSQL's default names).
ALTER TABLE alert_windows DROP CONSTRAINT alert_windows_kind_check;
ALTER TABLE alert_windows ADD CONSTRAINT alert_windows_kind_check CHECK (kind IN
    ('feature_drift', 'prediction_drift', 'label_drift', 'performance', 'data_quality', 'multivariate_drift'));
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check CHECK (kind IN
    ('feature_drift', 'prediction_drift', 'label_drift', 'performance', 'data_quality', 'multivariate_drift'));
