-- Staged statistics of one scene (CAST(:acquired_at AS timestamptz), CAST(:source AS varchar), CAST(:scene_id AS bigint)) into plot_index_stats.
-- The rows inserted or changed go to scene_stats_changed (plot_latest is kept from those
-- alone). Where the comment ON CONFLICT stands, ingest/satellite/_stats_db.py puts
-- scene_stats_conflict.sql unless no row of this time and source can exist yet.
WITH written AS (
    INSERT INTO plot_index_stats AS s (
        plot_id, index, acquired_at, source, scene_id, mean, std, min, max, median, p10, p90,
        valid_weight, valid_count, total_weight, clear_fraction, masked_shares, flagged,
        flag_reason
    )
    SELECT g.plot_id, g.index, CAST(:acquired_at AS timestamptz), CAST(:source AS varchar), CAST(:scene_id AS bigint),
        NULLIF(g.mean, 'NaN'), NULLIF(g.std, 'NaN'), NULLIF(g.min, 'NaN'),
        NULLIF(g.max, 'NaN'), NULLIF(g.median, 'NaN'), NULLIF(g.p10, 'NaN'),
        NULLIF(g.p90, 'NaN'), g.valid_weight, g.valid_count, g.total_weight, g.clear_fraction,
        jsonb_strip_nulls(jsonb_build_object(
        'nodata', NULLIF(g.share_nodata, 'NaN'),
        'defective', NULLIF(g.share_defective, 'NaN'),
        'dark_or_terrain_shadow', NULLIF(g.share_dark_or_terrain_shadow, 'NaN'),
        'cloud_shadow', NULLIF(g.share_cloud_shadow, 'NaN'),
        'cloud', NULLIF(g.share_cloud, 'NaN'),
        'cirrus', NULLIF(g.share_cirrus, 'NaN'),
        'snow', NULLIF(g.share_snow, 'NaN'),
        'unclassified', NULLIF(g.share_unclassified, 'NaN'),
        'dilated', NULLIF(g.share_dilated, 'NaN')
        )),
        g.flagged,
        CASE g.flag_code
            WHEN 1 THEN 'few_pixels'
            WHEN 2 THEN 'low_clear_fraction'
            WHEN 3 THEN 'no_valid_pixels'
            WHEN 4 THEN 'implausible_radiometry'
        END
    FROM scene_stats_staging AS g
    -- No foreign key checks each row (migration 0005): a plot deleted since it was read is
    -- left out here, in one join.
    WHERE EXISTS (SELECT 1 FROM plots AS p WHERE p.id = g.plot_id)
    -- In key order (staging is index by index): the primary key grows at its right edge
    -- instead of splitting pages for every index, and a plot's rows sit together.
    ORDER BY g.plot_id, g.index
    /* ON CONFLICT */
    RETURNING s.plot_id, s.index, s.mean, s.flagged
)
INSERT INTO scene_stats_changed (plot_id, index, mean, flagged)
SELECT plot_id, index, mean, flagged FROM written
