-- Segments (docs/segments.md): a model declares up to 3 categorical fields (region, model_version, ...)
-- that records carry beside their features; drift, performance and incidents are then also followed per
-- value of each field (its most frequent values, the rest grouped as `other`).
--
-- The declared fields, in declaration order (a PATCH may append; never rename, retype or reorder).
ALTER TABLE models ADD COLUMN segments jsonb NOT NULL DEFAULT '[]'::jsonb;

-- A row's segment values, slot i for models.segments[i] (NULL when the record left it out; a row older
-- than a field's declaration has a shorter array). NULL for a model that declares none.
ALTER TABLE predictions ADD COLUMN seg text[];
ALTER TABLE reference_rows ADD COLUMN seg text[];

-- The drift engine follows each segment value as a derived model of its own (a "segment model"): its rows
-- are its parent's rows of that value, so every detector, estimate, incident, stored read and cause works
-- per segment unchanged. It has no raw rows nor partitions of its own, is never listed among the tenant's
-- models, and goes with its parent. segment: '<field>:<value>' or '<field>:other'.
ALTER TABLE models ADD COLUMN parent_id integer REFERENCES models(id) ON DELETE CASCADE;
ALTER TABLE models ADD COLUMN segment text;
ALTER TABLE models ADD CONSTRAINT models_segment_of_parent CHECK ((parent_id IS NULL) = (segment IS NULL));
CREATE UNIQUE INDEX models_parent_segment ON models (parent_id, segment) WHERE parent_id IS NOT NULL;
