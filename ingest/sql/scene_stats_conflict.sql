-- The conflict rule of scene_stats_store.sql. The same scene again: update only what
-- changed. Another scene with the same key (a second tile or orbit over the plot on that
-- date): keep the observation with the higher clear fraction, then the higher valid weight;
-- a tie keeps the stored one.
    ON CONFLICT (plot_id, index, acquired_at, source) DO UPDATE SET
        scene_id = EXCLUDED.scene_id,
        mean = EXCLUDED.mean,
        std = EXCLUDED.std,
        min = EXCLUDED.min,
        max = EXCLUDED.max,
        median = EXCLUDED.median,
        p10 = EXCLUDED.p10,
        p90 = EXCLUDED.p90,
        valid_weight = EXCLUDED.valid_weight,
        valid_count = EXCLUDED.valid_count,
        total_weight = EXCLUDED.total_weight,
        clear_fraction = EXCLUDED.clear_fraction,
        masked_shares = EXCLUDED.masked_shares,
        flagged = EXCLUDED.flagged,
        flag_reason = EXCLUDED.flag_reason
    WHERE (
        s.scene_id = EXCLUDED.scene_id
        AND (s.mean, s.std, s.min, s.max, s.median, s.p10, s.p90, s.valid_weight,
            s.valid_count, s.total_weight, s.clear_fraction, s.masked_shares, s.flagged,
            s.flag_reason)
        IS DISTINCT FROM (EXCLUDED.mean, EXCLUDED.std, EXCLUDED.min, EXCLUDED.max,
            EXCLUDED.median, EXCLUDED.p10, EXCLUDED.p90, EXCLUDED.valid_weight,
            EXCLUDED.valid_count, EXCLUDED.total_weight, EXCLUDED.clear_fraction,
            EXCLUDED.masked_shares, EXCLUDED.flagged, EXCLUDED.flag_reason)
    ) OR (
        s.scene_id <> EXCLUDED.scene_id
        AND (EXCLUDED.clear_fraction, EXCLUDED.valid_weight) > (s.clear_fraction, s.valid_weight)
    )
