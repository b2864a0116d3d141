-- Incidents: one per (model, kind, subject, condition, reference) episode instead of one alert per window.
-- See docs/drift.md ("Incidents").
--
-- The engine stores what each evaluated window says per series (alert_windows: flagged or
-- insufficient; an evaluated window without a row is clean) and derives the incidents of a series
-- from them, from the earliest window that changed onwards, keeping the id and the user's state
-- (acknowledgement, manual resolve) of an incident that persists. So one backfill run, hundreds of
-- scheduled runs and late labels that re-evaluate old windows give the same incidents.

CREATE TABLE alert_windows (
    model_id       integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN
                   ('feature_drift', 'prediction_drift', 'label_drift', 'performance', 'data_quality')),
    subject        text NOT NULL,      -- the feature, or the metric
    condition      text NOT NULL,      -- distribution, missing_rate, new_category, unit_change, accuracy, rmse
    reference_key  text NOT NULL,
    granularity    text NOT NULL,
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    state          text NOT NULL CHECK (state IN ('flagged', 'insufficient')),
    severity       text CHECK (severity IN ('low', 'medium', 'high')),   -- flagged windows
    message        text,
    details        jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (model_id, granularity, window_start, kind, subject, condition, reference_key),
    CHECK ((state = 'flagged') = (severity IS NOT NULL AND message IS NOT NULL))
);
CREATE INDEX alert_windows_series ON alert_windows (model_id, kind, subject, condition, reference_key, window_start);

CREATE TABLE incidents (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id             integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    kind                 text NOT NULL CHECK (kind IN
                         ('feature_drift', 'prediction_drift', 'label_drift', 'performance', 'data_quality')),
    subject              text NOT NULL,
    condition            text NOT NULL,
    reference_key        text NOT NULL,
    granularity          text NOT NULL,
    status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    severity             text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),      -- of the last flagged window
    peak_severity        text NOT NULL CHECK (peak_severity IN ('low', 'medium', 'high')),
    first_window_start   timestamptz NOT NULL,
    last_window_end      timestamptz NOT NULL,   -- end of the last flagged window
    windows_flagged      integer NOT NULL CHECK (windows_flagged >= 1),
    opened_at            timestamptz NOT NULL DEFAULT now(),
    acknowledged_at      timestamptz,
    acknowledged_note    text,
    resolved_at          timestamptz,
    resolved_by          text CHECK (resolved_by IN ('auto', 'user')),
    -- auto: the end of the clean window that resolved it (derivations that start later leave it alone)
    closed_window_end    timestamptz,
    summary              text NOT NULL,
    details              jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- bumped whenever its windows change: the cause step recomputes the causes of those incidents only
    change               bigint NOT NULL DEFAULT nextval('drift_change_seq'),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolved_by IS NOT NULL)),
    CHECK (status <> 'acknowledged' OR acknowledged_at IS NOT NULL)
);
CREATE INDEX incidents_series ON incidents (model_id, kind, subject, condition, reference_key, first_window_start);
-- the list: open (and acknowledged) first, then the most recent
CREATE INDEX incidents_model_list ON incidents (model_id, (status = 'resolved'), last_window_end DESC, id DESC);
CREATE INDEX incidents_model_change ON incidents (model_id, change);

-- Probable causes of the incident as a whole (over its flagged windows), ranked.
CREATE TABLE incident_causes (
    incident_id  bigint NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    rank         integer NOT NULL,
    feature      text NOT NULL,
    segment      text,
    score        float8 NOT NULL,
    sentence     text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (incident_id, rank)
);

-- One row per state change the engine (or a user's resolve) makes; what delivery sends.
CREATE TABLE incident_changes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    model_id     integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    change       text NOT NULL CHECK (change IN ('opened', 'escalated', 'resolved')),
    severity     text CHECK (severity IN ('low', 'medium', 'high')),
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_changes_model ON incident_changes (model_id, id);
CREATE INDEX incident_changes_incident ON incident_changes (incident_id);

-- Existing data: every per-window alert becomes a flagged window of its series; consecutive alerts of a
-- series (at most three windows apart, the default resolve_after) become one incident, acknowledged when
-- any of its alerts was. The engine re-derives them on its next run (its watermark is reset below),
-- keeping these ids and acknowledgements.
INSERT INTO alert_windows (model_id, kind, subject, condition, reference_key, granularity, window_start, window_end,
                           state, severity, message, details)
SELECT model_id, kind, subject, condition, reference_key, granularity, window_start,
       coalesce((details ->> 'window_end')::timestamptz,
                window_start + CASE granularity WHEN 'hour' THEN interval '1 hour' ELSE interval '1 day' END),
       'flagged', severity, message, details - 'acknowledgement'
FROM drift_alerts;

CREATE TEMPORARY TABLE migrated_alerts ON COMMIT DROP AS
WITH ordered AS (
    SELECT a.*,
           w.window_end,
           CASE WHEN lag(a.window_start) OVER s IS NULL
                  OR a.window_start - lag(a.window_start) OVER s
                     > 4 * CASE a.granularity WHEN 'hour' THEN interval '1 hour' ELSE interval '1 day' END
                THEN 1 ELSE 0 END AS starts
    FROM drift_alerts a
    JOIN alert_windows w USING (model_id, kind, subject, condition, reference_key, granularity, window_start)
    WINDOW s AS (PARTITION BY a.model_id, a.kind, a.subject, a.condition, a.reference_key, a.granularity
                 ORDER BY a.window_start)
)
SELECT o.*,
       sum(starts) OVER (PARTITION BY model_id, kind, subject, condition, reference_key, granularity
                         ORDER BY window_start) AS episode
FROM ordered o;

CREATE TEMPORARY TABLE migrated_incidents ON COMMIT DROP AS
SELECT model_id, kind, subject, condition, reference_key, granularity, episode,
       min(id) AS first_alert,
       (array_agg(severity ORDER BY window_start DESC))[1] AS severity,
       (array_agg(severity ORDER BY CASE severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END DESC))[1]
           AS peak_severity,
       min(window_start) AS first_window_start,
       max(window_end) AS last_window_end,
       count(*)::integer AS windows_flagged,
       min(created_at) AS opened_at,
       min((details -> 'acknowledgement' ->> 'at')::timestamptz) AS acknowledged_at,
       (array_agg(details -> 'acknowledgement' ->> 'note' ORDER BY window_start)
            FILTER (WHERE details ? 'acknowledgement'))[1] AS acknowledged_note,
       (array_agg(message ORDER BY window_start DESC))[1] AS last_message
FROM migrated_alerts
GROUP BY model_id, kind, subject, condition, reference_key, granularity, episode;

INSERT INTO incidents (model_id, kind, subject, condition, reference_key, granularity, status, severity,
                       peak_severity, first_window_start, last_window_end, windows_flagged, opened_at,
                       acknowledged_at, acknowledged_note, summary, details)
SELECT model_id, kind, subject, condition, reference_key, granularity,
       CASE WHEN acknowledged_at IS NULL THEN 'open' ELSE 'acknowledged' END, severity, peak_severity,
       first_window_start, last_window_end, windows_flagged, opened_at, acknowledged_at, acknowledged_note,
       last_message, jsonb_build_object('migrated_from_alert', first_alert)
FROM migrated_incidents
ORDER BY first_alert;

-- the causes of each incident's first alert until the engine recomputes them over the whole incident
INSERT INTO incident_causes (incident_id, rank, feature, segment, score, sentence, details)
SELECT i.id, c.rank, c.feature, c.segment, c.score, c.sentence, c.details
FROM incidents i JOIN drift_causes c ON c.alert_id = (i.details ->> 'migrated_from_alert')::bigint;

-- what was already delivered is not delivered again; the rest is
INSERT INTO incident_changes (incident_id, model_id, change, severity, at)
SELECT i.id, i.model_id, 'opened', i.peak_severity, i.opened_at
FROM incidents i JOIN drift_alerts a ON a.id = (i.details ->> 'migrated_from_alert')::bigint
WHERE a.notified_at IS NULL;

-- drift_alerts and drift_causes are no longer written (expand, then contract): migration 0008 drops them.
-- the alert step re-derives every series (the ids and acknowledgements above are kept); the cause step
-- recomputes causes over each incident
DELETE FROM drift_watermarks WHERE step IN ('alerts', 'causes');
