-- plot_latest upkeep, 1 of 3: a latest value whose observation (this key) is now flagged or
-- has no mean is dropped (scene_latest_recompute looks for an older one).
DELETE FROM plot_latest AS l
USING scene_stats_changed AS c
WHERE l.plot_id = c.plot_id
    AND l.index = c.index
    AND l.acquired_at = CAST(:acquired_at AS timestamptz)
    AND l.source = CAST(:source AS varchar)
    AND (c.flagged OR c.mean IS NULL)
