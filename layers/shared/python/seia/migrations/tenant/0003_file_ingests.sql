-- Bulk files loaded from the bucket, one row per object version: a notification delivered again for
-- a file already loaded is a no-op. Written in the same transaction as the file's rows, so a row here
-- means the rows are there. Rejected files are not recorded (they leave the database untouched).
CREATE TABLE file_ingests (
    bucket      text NOT NULL,
    key         text NOT NULL,
    etag        text NOT NULL,
    version_id  text NOT NULL DEFAULT '',  -- '' when the bucket is not versioned
    model_id    integer NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('predictions', 'ground-truths', 'reference')),
    rows        bigint NOT NULL DEFAULT 0,  -- rows stored now
    duplicates  bigint NOT NULL DEFAULT 0,  -- rows whose prediction_id was already stored
    unmatched   bigint,                     -- ground truths: labels with no prediction (yet)
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, key, etag, version_id)
);
