-- Newest unflagged value per plot and index, for the plots of the staged scene. Ties on the
-- time (two sources) go to the higher clear fraction, then valid weight, then source name.
INSERT INTO plot_latest AS l (plot_id, index, acquired_at, source, scene_id, mean)
SELECT DISTINCT ON (s.plot_id, s.index)
    s.plot_id, s.index, s.acquired_at, s.source, s.scene_id, s.mean
FROM plot_index_stats AS s
WHERE NOT s.flagged
    AND s.mean IS NOT NULL
    AND s.plot_id IN (SELECT DISTINCT plot_id FROM scene_stats_staging)
ORDER BY s.plot_id, s.index, s.acquired_at DESC, s.clear_fraction DESC, s.valid_weight DESC,
    s.source
ON CONFLICT (plot_id, index) DO UPDATE SET
    acquired_at = EXCLUDED.acquired_at,
    source = EXCLUDED.source,
    scene_id = EXCLUDED.scene_id,
    mean = EXCLUDED.mean
WHERE (l.acquired_at, l.source, l.scene_id, l.mean)
    IS DISTINCT FROM (EXCLUDED.acquired_at, EXCLUDED.source, EXCLUDED.scene_id, EXCLUDED.mean)
