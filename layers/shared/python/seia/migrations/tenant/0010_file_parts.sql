-- Files of any size (docs/bulk-files.md, "Files in parts"): a file larger than one invocation's budget is
-- split into parts, each staged by its own invocation, then published part by part once every part is
-- valid. Nothing here is read by the API or the drift engine: rows reach predictions, ground_truths and
-- reference_rows only when a part is published, through the same statements as a one-piece load.

-- One row per split file (one object version), from its plan to its end.
CREATE TABLE file_part_loads (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket       text NOT NULL,
    key          text NOT NULL,
    etag         text NOT NULL,
    version_id   text NOT NULL DEFAULT '',
    model_id     integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('predictions', 'ground-truths', 'reference')),
    columns      jsonb NOT NULL,  -- the file's column names, as its header (or first part) gives them
    parts        integer NOT NULL CHECK (parts > 0),
    -- staging: parts being read and checked; publishing: every part valid, rows moving to their tables;
    -- loaded: done (and recorded in file_ingests); rejected: nothing of the file was stored.
    state        text NOT NULL DEFAULT 'staging' CHECK (state IN ('staging', 'publishing', 'loaded', 'rejected')),
    errors       jsonb,           -- rejected: [{"row", "column", "message"}], rows of the whole file
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    UNIQUE (bucket, key, etag, version_id)
);

-- The parts ledger: each part's slice of the object and how far it got. A part's state changes in the same
-- transaction as its staged (or published) rows, so a part delivered again after its commit does nothing.
CREATE TABLE file_parts (
    file_id     bigint NOT NULL REFERENCES file_part_loads(id) ON DELETE CASCADE,
    part        integer NOT NULL,
    start_byte  bigint,     -- CSV, JSON Lines: the byte range [start_byte, end_byte) of whole lines
    end_byte    bigint,
    row_groups  integer[],  -- Parquet: the row groups of the part
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'staged', 'rejected', 'skipped', 'published')),
    rows        bigint,     -- data rows of the part (staged)
    stored      bigint,     -- published: rows stored, already stored (duplicates), labels without prediction
    duplicates  bigint,
    unmatched   bigint,
    expired     bigint,     -- labels whose prediction is past the retention horizon (0009): counted, not stored
    errors      jsonb,      -- rejected: rows numbered within the part (the file's numbers are written on the file)
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_id, part)
);

-- Staged rows: each chunk as the binary COPY stream the one-piece loader would write, until its part is
-- published. Stored uncompressed: float columns barely compress and pglz would cost the staging time.
CREATE TABLE file_part_chunks (
    file_id  bigint NOT NULL REFERENCES file_part_loads(id) ON DELETE CASCADE,
    part     integer NOT NULL,
    chunk    integer NOT NULL,
    rows     integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (file_id, part, chunk)
);
ALTER TABLE file_part_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Every staged prediction_id with its row, for the whole file's duplicate check before anything is published.
CREATE TABLE file_part_ids (
    file_id        bigint NOT NULL REFERENCES file_part_loads(id) ON DELETE CASCADE,
    part           integer NOT NULL,
    row_no         bigint NOT NULL,  -- within the part
    prediction_id  text NOT NULL
);
CREATE INDEX file_part_ids_file ON file_part_ids (file_id);
