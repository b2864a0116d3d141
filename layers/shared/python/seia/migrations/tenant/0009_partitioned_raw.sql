-- Raw rows in partitions, so that old rows leave by DROP TABLE, never by DELETE. See docs/storage.md.
--
-- predictions, ground_truths and reference_rows: first level LIST (model_id), one partition per model
-- (<table>_m<model>), each partitioned by RANGE on a time column: the event time `ts` for predictions and
-- reference rows, the arrival time `received_at` for ground truths (a label's own ts is optional).
-- Leaves (<table>_m<model>_<yyyymmdd>, start of range) cover one ISO week (Monday 00:00 UTC) near today,
-- a calendar year far from it, clipped to the gaps between existing leaves; seia_raw_partition() makes
-- the leaf a timestamp needs, so a late or far-future row is never refused.
--
-- A prediction_id is unique per model across every leaf through prediction_keys (one partition per model,
-- a unique index on prediction_id): a time-partitioned table cannot hold a unique index without its
-- partition key. Its rows of dropped leaves are trimmed by retention in bounded batches.
-- No foreign key to models: a model's partitions go with the model (seia.partitions.drop_model).

ALTER TABLE predictions RENAME TO predictions_0008;
ALTER TABLE ground_truths RENAME TO ground_truths_0008;
ALTER TABLE reference_rows RENAME TO reference_rows_0008;
DROP TRIGGER ground_truths_stamp_xid ON ground_truths_0008;

CREATE SEQUENCE predictions_seq;
CREATE TABLE predictions (
    model_id          integer NOT NULL,
    prediction_id     text NOT NULL,
    ts                timestamptz NOT NULL,
    num               double precision[] NOT NULL,
    cat               text[] NOT NULL,
    prediction_label  text,
    prediction_value  double precision,
    score             double precision,
    scores            double precision[],
    received_at       timestamptz NOT NULL DEFAULT now(),
    seq               bigint NOT NULL DEFAULT nextval('predictions_seq'),
    xid               xid8 NOT NULL DEFAULT pg_current_xact_id()
) PARTITION BY LIST (model_id);
-- Rows arrive in ts, seq and xid order within a leaf: block-range indexes cost almost nothing to keep.
-- xid8 has no BRIN operator class; its B-tree has no model_id (the partition is the model).
CREATE INDEX predictions_ts ON predictions USING brin (ts) WITH (pages_per_range = 32);
CREATE INDEX predictions_seq_brin ON predictions USING brin (seq) WITH (pages_per_range = 32);
CREATE INDEX predictions_xid ON predictions (xid);

CREATE TABLE ground_truths (
    model_id       integer NOT NULL,
    prediction_id  text NOT NULL,
    label          text,
    label_value    double precision,
    ts             timestamptz,
    received_at    timestamptz NOT NULL DEFAULT now(),
    seq            bigint NOT NULL DEFAULT nextval('ground_truth_seq'),
    xid            xid8 NOT NULL DEFAULT pg_current_xact_id()
) PARTITION BY LIST (model_id);
CREATE INDEX ground_truths_xid ON ground_truths (xid);
CREATE INDEX ground_truths_seq_brin ON ground_truths USING brin (seq) WITH (pages_per_range = 32);
-- Each leaf also has UNIQUE (prediction_id) (seia_raw_partition): one label per prediction per leaf;
-- a correction arriving in a later leaf moves the label there (seia.repositories.records).
CREATE TRIGGER ground_truths_stamp_xid BEFORE UPDATE ON ground_truths
    FOR EACH ROW EXECUTE FUNCTION ground_truths_stamp_xid();

CREATE TABLE reference_rows (
    model_id          integer NOT NULL,
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
    received_at       timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (model_id);

CREATE TABLE prediction_keys (
    model_id       integer NOT NULL,
    prediction_id  text NOT NULL,
    ts             timestamptz NOT NULL
) PARTITION BY LIST (model_id);
CREATE INDEX prediction_keys_ts ON prediction_keys USING brin (ts) WITH (pages_per_range = 32);

-- Every leaf: its table, model and range. Written in the transaction that creates or drops the leaf.
CREATE TABLE raw_partitions (
    relname       text PRIMARY KEY,
    parent_table  text NOT NULL,
    model_id      integer NOT NULL,
    starts        timestamptz NOT NULL,
    ends          timestamptz NOT NULL
);
CREATE INDEX raw_partitions_model ON raw_partitions (model_id, parent_table, starts);

-- Per model: raw rows before `horizon` have been dropped (the end of the last leaf retention dropped).
CREATE TABLE raw_horizons (
    model_id  integer PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    horizon   timestamptz NOT NULL
);

-- Bulk files of labels: how many were past the retention horizon (stored nowhere).
ALTER TABLE file_ingests ADD COLUMN expired bigint;

-- Tenant-wide defaults of model settings (retention_days); a model's own setting wins.
CREATE TABLE tenant_defaults (
    key    text PRIMARY KEY,
    value  jsonb NOT NULL
);

-- A partition made by a superuser (an operator, a test) belongs to the tenant's role like its parent.
CREATE FUNCTION seia_same_owner(rel text, parent text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    owner oid := (SELECT c.relowner FROM pg_class c WHERE c.oid = quote_ident(parent)::regclass);
BEGIN
    IF owner <> current_user::regrole::oid THEN
        EXECUTE format('ALTER TABLE %I OWNER TO %s', rel, owner::regrole);
    END IF;
END $$;

-- The model's partition of `parent` (created and attached when missing); its name.
CREATE FUNCTION seia_model_partition(parent text, model integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    rel text := parent || '_m' || model;
BEGIN
    IF to_regclass(quote_ident(rel)) IS NOT NULL THEN
        RETURN rel;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('seia_raw_partition'), model);
    IF to_regclass(quote_ident(rel)) IS NOT NULL THEN
        RETURN rel;
    END IF;
    IF parent = 'prediction_keys' THEN
        EXECUTE format('CREATE TABLE %I (LIKE prediction_keys INCLUDING DEFAULTS)', rel);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE (prediction_id)', rel, rel || '_id');
    ELSE
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS) PARTITION BY RANGE (%I)', rel, parent,
                       CASE parent WHEN 'ground_truths' THEN 'received_at' ELSE 'ts' END);
    END IF;
    PERFORM seia_same_owner(rel, parent);
    -- ATTACH takes SHARE UPDATE EXCLUSIVE on the parent: writers and readers of other models go on.
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)', parent, rel, model);
    RETURN rel;
END $$;

-- The leaf of `parent` holding model `model`'s rows at `at` (created and attached when missing); its name.
CREATE FUNCTION seia_raw_partition(parent text, model integer, at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    model_rel text;
    found text;
    lo timestamptz;
    hi timestamptz;
    prev_end timestamptz;
    next_start timestamptz;
    leaf text;
BEGIN
    SELECT relname INTO found FROM raw_partitions
    WHERE parent_table = parent AND model_id = model AND starts <= at AND at < ends;
    IF found IS NOT NULL THEN
        RETURN found;
    END IF;
    model_rel := seia_model_partition(parent, model);
    PERFORM pg_advisory_xact_lock(hashtext('seia_raw_partition'), model);
    SELECT relname INTO found FROM raw_partitions
    WHERE parent_table = parent AND model_id = model AND starts <= at AND at < ends;
    IF found IS NOT NULL THEN
        RETURN found;
    END IF;
    IF at >= now() - interval '800 days' AND at < now() + interval '400 days' THEN
        lo := date_trunc('week', at, 'UTC');
        hi := lo + interval '7 days';
    ELSE
        lo := date_trunc('year', at, 'UTC');
        hi := (date_trunc('year', at, 'UTC') AT TIME ZONE 'UTC' + interval '1 year') AT TIME ZONE 'UTC';
    END IF;
    SELECT max(ends) INTO prev_end FROM raw_partitions
    WHERE parent_table = parent AND model_id = model AND ends <= at;
    SELECT min(starts) INTO next_start FROM raw_partitions
    WHERE parent_table = parent AND model_id = model AND starts > at;
    lo := greatest(lo, prev_end);
    hi := least(hi, next_start);
    leaf := model_rel || '_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD')
            || CASE WHEN lo < '0001-01-01 00:00:00+00' THEN 'bc' ELSE '' END;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', leaf, model_rel);
    IF parent IN ('ground_truths', 'reference_rows') THEN
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I UNIQUE (prediction_id)', leaf, leaf || '_id');
    END IF;
    PERFORM seia_same_owner(leaf, model_rel);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', model_rel, leaf, lo, hi);
    INSERT INTO raw_partitions (relname, parent_table, model_id, starts, ends) VALUES (leaf, parent, model, lo, hi);
    RETURN leaf;
END $$;

-- Today's rows, every one of them, into the new tables (seq and xid kept: the drift watermarks hold).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id FROM models LOOP
        PERFORM seia_model_partition(t, r.id)
        FROM unnest(ARRAY['predictions', 'ground_truths', 'reference_rows', 'prediction_keys']) t;
    END LOOP;
    FOR r IN SELECT model_id, min(ts) AS at FROM predictions_0008 GROUP BY model_id, date_trunc('day', ts, 'UTC') LOOP
        PERFORM seia_raw_partition('predictions', r.model_id, r.at);
    END LOOP;
    FOR r IN SELECT model_id, min(received_at) AS at FROM ground_truths_0008
             GROUP BY model_id, date_trunc('day', received_at, 'UTC') LOOP
        PERFORM seia_raw_partition('ground_truths', r.model_id, r.at);
    END LOOP;
    FOR r IN SELECT model_id, min(ts) AS at FROM reference_rows_0008
             GROUP BY model_id, date_trunc('day', ts, 'UTC') LOOP
        PERFORM seia_raw_partition('reference_rows', r.model_id, r.at);
    END LOOP;
END $$;

INSERT INTO predictions (model_id, prediction_id, ts, num, cat, prediction_label, prediction_value, score, scores,
                         received_at, seq, xid)
SELECT model_id, prediction_id, ts, num, cat, prediction_label, prediction_value, score, scores, received_at, seq, xid
FROM predictions_0008;
INSERT INTO prediction_keys (model_id, prediction_id, ts) SELECT model_id, prediction_id, ts FROM predictions_0008;
SELECT setval('predictions_seq', coalesce((SELECT max(seq) FROM predictions_0008), 0) + 1, false);
INSERT INTO ground_truths (model_id, prediction_id, label, label_value, ts, received_at, seq, xid)
SELECT model_id, prediction_id, label, label_value, ts, received_at, seq, xid FROM ground_truths_0008;
INSERT INTO reference_rows (model_id, prediction_id, ts, num, cat, prediction_label, prediction_value, score, scores,
                            label, label_value, received_at)
SELECT model_id, prediction_id, ts, num, cat, prediction_label, prediction_value, score, scores, label, label_value,
       received_at
FROM reference_rows_0008;

DROP TABLE predictions_0008;
DROP TABLE ground_truths_0008;
DROP TABLE reference_rows_0008;
