-- Reads that are stored, not recomputed (docs/reads.md). The engine now stores every window at hour
-- AND day granularity, whatever the model evaluates, each with its DriftWindow document as the query
-- API returns it; and per day one merged ("rollup") sketch per feature and the day's merged
-- performance statistics, so a range of any length merges a few dozen rows instead of its hours.

-- The window as the query API shows it (DriftWindow JSON, written by the drift step), and the
-- predictions of the window as the performance step counted them.
ALTER TABLE drift_windows ADD COLUMN IF NOT EXISTS document json;
ALTER TABLE drift_windows ADD COLUMN IF NOT EXISTS predictions bigint;

-- A day's hourly sketches of one feature, merged. Numeric: counts as one fixed-width little-endian
-- field of 6 bytes per bin (seia/rollups.py: the query path adds a year of them as Python integers,
-- all bins at once), moments and extremes as columns. Categorical: counts by category.
CREATE TABLE IF NOT EXISTS drift_rollups (
    model_id    integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    day         timestamptz NOT NULL,
    feature     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('numeric', 'categorical')),
    rows        bigint NOT NULL,
    missing     bigint NOT NULL,
    n           bigint NOT NULL,
    mean        float8,
    m2          float8,
    lo          float8,
    hi          float8,
    counts      bytea,
    categories  jsonb,
    PRIMARY KEY (model_id, day, feature)
);

-- A day's hourly performance statistics, merged (stored packed as the hourly ones).
CREATE TABLE IF NOT EXISTS drift_performance_daily (
    model_id  integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    day       timestamptz NOT NULL,
    rows      bigint NOT NULL,
    labeled   bigint NOT NULL,
    stats     jsonb,
    PRIMARY KEY (model_id, day)
);

-- The windows stored before answer at once: their documents, built as the query API built them (and as
-- the engine renders them: ResultRepository.RENDER_DOCUMENTS, which also knows 0012's __multivariate__).
UPDATE drift_windows w SET document = d.document
FROM (
    SELECT win.model_id, win.granularity, win.window_start, json_build_object(
        'window_start', to_char(win.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
        'window_end', to_char(win.window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
        'rows', win.rows, 'features', coalesce(agg.features, '[]'), 'prediction', agg.prediction,
        'score', agg.score, 'label', agg.label, 'multivariate', agg.multivariate,
        'computed_at', to_char(win.computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
        AS document
    FROM drift_windows win
    LEFT JOIN (
        SELECT model_id, granularity, window_start,
               coalesce(json_agg(body ORDER BY feature) FILTER (WHERE slot = 'features'), '[]') AS features,
               (array_agg(body) FILTER (WHERE slot = 'prediction'))[1] AS prediction,
               (array_agg(body) FILTER (WHERE slot = 'score'))[1] AS score,
               (array_agg(body) FILTER (WHERE slot = 'label'))[1] AS label,
               (array_agg(body) FILTER (WHERE slot = 'multivariate'))[1] AS multivariate
        FROM (
            SELECT r.model_id, r.granularity, r.window_start, r.feature,
                   CASE r.feature WHEN '__prediction__' THEN 'prediction' WHEN '__score__' THEN 'score'
                                  WHEN '__label__' THEN 'label' WHEN '__multivariate__' THEN 'multivariate'
                                  ELSE 'features' END AS slot,
                   json_build_object(
                       'name', CASE r.feature WHEN '__prediction__' THEN 'prediction' WHEN '__score__' THEN 'score'
                                              WHEN '__label__' THEN 'label'
                                              WHEN '__multivariate__' THEN 'multivariate' ELSE r.feature END,
                       'kind', CASE WHEN f.source = 'label' OR r.feature = '__label__' THEN 'label'
                                    WHEN r.feature = '__multivariate__' THEN 'multivariate'
                                    WHEN f.source IN ('prediction', 'score') THEN 'prediction' ELSE 'feature' END,
                       'type', r.kind, 'rows', r.rows,
                       'rows_reference', coalesce((r.statistics->>'rows_ref')::bigint, 0),
                       'verdict', r.verdict, 'severity', r.severity, 'signals', to_json(r.signals),
                       'driver', r.driver, 'effect_ratio', r.effect_ratio,
                       'statistics', r.statistics - 'top_increase' - 'new_categories' - 'contributions') AS body
            FROM drift_results r
            LEFT JOIN drift_features f ON f.model_id = r.model_id AND f.feature = r.feature
        ) col
        GROUP BY model_id, granularity, window_start
    ) agg ON agg.model_id = win.model_id AND agg.granularity = win.granularity AND agg.window_start = win.window_start
    WHERE win.status <> 'pending'
) d
WHERE w.model_id = d.model_id AND w.granularity = d.granularity AND w.window_start = d.window_start
  AND w.document IS NULL;

UPDATE drift_windows w
   SET predictions = coalesce((SELECT sum(h.rows) FROM drift_performance_hourly h
                               WHERE h.model_id = w.model_id AND h.hour >= w.window_start
                                 AND h.hour < w.window_end), 0)
 WHERE w.metrics IS NOT NULL AND w.predictions IS NULL;

-- The engine computes the other granularity and the rollups of the stored history on its next run
-- (its drift and performance steps start over); until then the query API computes what is not
-- stored from the hourly sketches, as before.
DELETE FROM drift_watermarks WHERE step IN ('drift', 'performance');
