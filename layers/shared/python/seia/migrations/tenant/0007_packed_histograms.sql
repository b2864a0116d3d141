-- Hourly histograms stored packed: only their non-empty bins (seia/sparse.py). An hour holds a few
-- dozen rows, so its numeric sketches (513 bins) and its binary performance counts (two 1,000-bin
-- score histograms) were almost all zeros; encoding, parsing, TOASTing and decoding those zeros
-- was most of the drift worker's time on a long history. The readers accept both forms; this
-- converts the rows written before.

-- A dense JSON array of counts as {size, bins (0-based positions of the non-zero counts), counts}.
CREATE FUNCTION pg_temp.packed(dense jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'size', jsonb_array_length(dense),
        'bins', coalesce(jsonb_agg(e.i - 1 ORDER BY e.i) FILTER (WHERE (e.c)::numeric <> 0), '[]'::jsonb),
        'counts', coalesce(jsonb_agg(e.c ORDER BY e.i) FILTER (WHERE (e.c)::numeric <> 0), '[]'::jsonb))
    FROM jsonb_array_elements(dense) WITH ORDINALITY AS e(c, i)
$$;

-- Numeric sketches: {"counts": [...dense...], ...} -> {"size", "bins", "bin_counts", ...}. A
-- categorical sketch's counts are an object (by category) and stay as they are.
UPDATE drift_sketches
   SET sketch = (sketch - 'counts') || jsonb_build_object(
           'size', pg_temp.packed(sketch -> 'counts') -> 'size',
           'bins', pg_temp.packed(sketch -> 'counts') -> 'bins',
           'bin_counts', pg_temp.packed(sketch -> 'counts') -> 'counts')
 WHERE jsonb_typeof(sketch -> 'counts') = 'array';

-- Binary performance counts: scored.positive_hist / negative_hist -> positive_size, positive_bins,
-- positive_counts (and negative_*).
UPDATE drift_performance_hourly
   SET stats = jsonb_set(stats, '{scored}',
           (stats -> 'scored') - 'positive_hist' - 'negative_hist' || jsonb_build_object(
               'positive_size', pg_temp.packed(stats -> 'scored' -> 'positive_hist') -> 'size',
               'positive_bins', pg_temp.packed(stats -> 'scored' -> 'positive_hist') -> 'bins',
               'positive_counts', pg_temp.packed(stats -> 'scored' -> 'positive_hist') -> 'counts',
               'negative_size', pg_temp.packed(stats -> 'scored' -> 'negative_hist') -> 'size',
               'negative_bins', pg_temp.packed(stats -> 'scored' -> 'negative_hist') -> 'bins',
               'negative_counts', pg_temp.packed(stats -> 'scored' -> 'negative_hist') -> 'counts'))
 WHERE stats ->> 'kind' = 'binary' AND jsonb_typeof(stats -> 'scored' -> 'positive_hist') = 'array'
   AND jsonb_typeof(stats -> 'scored' -> 'negative_hist') = 'array';

DROP FUNCTION pg_temp.packed(jsonb);
