-- plot_latest upkeep, 3 of 3: from the whole history, the newest unflagged value of each
-- changed plot and index that has none (its new observation is flagged, or its latest one
-- was dropped) or whose latest value is another source's on the same day. Ties on the time
-- go to the higher clear fraction, then valid weight, then source name.
WITH todo AS MATERIALIZED (
    -- First the few pairs that need it, then their history (not the other way round).
    SELECT c.plot_id, c.index
    FROM scene_stats_changed AS c
    LEFT JOIN plot_latest AS o ON o.plot_id = c.plot_id AND o.index = c.index
    WHERE o.plot_id IS NULL
        OR (o.acquired_at = CAST(:acquired_at AS timestamptz)
            AND o.source <> CAST(:source AS varchar))
)
INSERT INTO plot_latest AS l (plot_id, index, acquired_at, source, scene_id, mean)
SELECT DISTINCT ON (s.plot_id, s.index)
    s.plot_id, s.index, s.acquired_at, s.source, s.scene_id, s.mean
FROM todo AS t
JOIN plot_index_stats AS s ON s.plot_id = t.plot_id AND s.index = t.index
WHERE NOT s.flagged
    AND s.mean IS NOT NULL
ORDER BY s.plot_id, s.index, s.acquired_at DESC, s.clear_fraction DESC, s.valid_weight DESC,
    s.source
ON CONFLICT (plot_id, index) DO UPDATE SET
    acquired_at = EXCLUDED.acquired_at,
    source = EXCLUDED.source,
    scene_id = EXCLUDED.scene_id,
    mean = EXCLUDED.mean
WHERE (l.acquired_at, l.source, l.scene_id, l.mean)
    IS DISTINCT FROM (EXCLUDED.acquired_at, EXCLUDED.source, EXCLUDED.scene_id, EXCLUDED.mean)
