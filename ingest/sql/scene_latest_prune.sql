-- Before scene_latest: drop the latest value of a staged plot and index that has no unflagged
-- observation left (a re-ingest under stricter thresholds flagged its only clear value).
DELETE FROM plot_latest AS l
WHERE l.plot_id IN (SELECT DISTINCT plot_id FROM scene_stats_staging)
    AND NOT EXISTS (
        SELECT 1
        FROM plot_index_stats AS s
        WHERE s.plot_id = l.plot_id
            AND s.index = l.index
            AND NOT s.flagged
            AND s.mean IS NOT NULL
    )
