-- predictions: one block-range index on (ts, seq, xid as bigint) instead of BRIN (ts), BRIN (seq) and a B-tree
-- on xid. See docs/storage.md ("Indexes and the drift watermarks", "Where the time goes").
--
-- Every row of a bulk load paid for an entry in the xid B-tree and for two BRIN insertions; one BRIN of three
-- columns costs one insertion (backend CPU per million rows, binary COPY into a leaf: 2.47 s before, 2.00 s
-- after, 1.74 s into an unindexed table). xid8 has no BRIN operator class and making one needs a superuser,
-- so the index holds the immutable expression (xid::text)::bigint, the same number: the engine's new-row
-- reads compare that expression with its watermarks (seia_drift.repositories). The column, its values and
-- every drift watermark stay as they were; only indexes change. ground_truths keeps its B-tree on xid (a
-- corrected label is re-stamped, so its rows are not in xid order).
--
-- A leaf made later gets the index when it is attached (seia_raw_partition); the planner summarizes new
-- block ranges before it looks for new rows (seia.partitions.summarize).
DROP INDEX predictions_xid;
DROP INDEX predictions_ts;
DROP INDEX predictions_seq_brin;
CREATE INDEX predictions_brin ON predictions
    USING brin (ts, seq, ((xid::text)::bigint)) WITH (pages_per_range = 32);
