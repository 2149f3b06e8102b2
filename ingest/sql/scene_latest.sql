-- plot_latest upkeep, 2 of 3: a changed, unflagged observation becomes the latest value when
-- the plot has none, when it is newer, or when it replaces the latest one (same key). A
-- same-day value from another source is left to scene_latest_recompute (the tie rule).
INSERT INTO plot_latest AS l (plot_id, index, acquired_at, source, scene_id, mean)
SELECT c.plot_id, c.index, CAST(:acquired_at AS timestamptz), CAST(:source AS varchar), CAST(:scene_id AS bigint), c.mean
FROM scene_stats_changed AS c
LEFT JOIN plot_latest AS o ON o.plot_id = c.plot_id AND o.index = c.index
WHERE NOT c.flagged
    AND c.mean IS NOT NULL
    AND (o.plot_id IS NULL
        OR o.acquired_at < CAST(:acquired_at AS timestamptz)
        OR (o.acquired_at = CAST(:acquired_at AS timestamptz) AND o.source = CAST(:source AS varchar)))
ON CONFLICT (plot_id, index) DO UPDATE SET
    acquired_at = EXCLUDED.acquired_at,
    source = EXCLUDED.source,
    scene_id = EXCLUDED.scene_id,
    mean = EXCLUDED.mean
WHERE (l.acquired_at, l.source, l.scene_id, l.mean)
    IS DISTINCT FROM (EXCLUDED.acquired_at, EXCLUDED.source, EXCLUDED.scene_id, EXCLUDED.mean)
