-- Staging of one scene's per-plot statistics; COPY fills it, scene_stats_upsert moves it.
CREATE TEMPORARY TABLE scene_stats_staging (
    plot_id bigint NOT NULL,
    index varchar(16) NOT NULL,
    acquired_at timestamptz NOT NULL,
    source varchar(32) NOT NULL,
    scene_id bigint NOT NULL,
    mean double precision,
    std double precision,
    min double precision,
    max double precision,
    median double precision,
    p10 double precision,
    p90 double precision,
    valid_weight double precision NOT NULL,
    valid_count integer NOT NULL,
    total_weight double precision NOT NULL,
    clear_fraction double precision NOT NULL,
    masked_shares jsonb NOT NULL,
    flagged boolean NOT NULL,
    flag_reason text
) ON COMMIT DROP
