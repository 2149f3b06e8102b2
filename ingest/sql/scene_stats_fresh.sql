-- Whether plot_index_stats holds no row yet for this time and source, so the statistics of
-- a scene can go in with a plain INSERT (no conflict to resolve). Rows carry their scene's
-- time, so only the scenes of this time and source are looked up, each through the
-- scene_id index of the one partition the time selects. (Rows whose scene has since moved
-- to another time are not found here; the INSERT then fails on the key and the caller
-- falls back to the upsert.)
SELECT NOT EXISTS (
    SELECT 1
    FROM plot_index_stats AS s
    WHERE s.acquired_at = CAST(:acquired_at AS timestamptz)
        AND s.source = CAST(:source AS varchar)
        AND s.scene_id IN (
            SELECT c.id
            FROM scenes AS c
            WHERE c.acquired_at = CAST(:acquired_at AS timestamptz)
                AND c.source = CAST(:source AS varchar)
        )
)
