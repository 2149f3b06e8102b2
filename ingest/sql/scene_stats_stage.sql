-- Staging of one scene's per-plot statistics, filled by a binary COPY (ingest/satellite/
-- _stats_db.py): NaN stands for "no value", flag_code for the flag reason (0: none), one
-- share column per mask reason (NaN: the reason is not in the scene). scene_stats_store moves
-- the rows; scene_stats_changed keeps the keys it inserted or changed, for plot_latest.
CREATE TEMPORARY TABLE scene_stats_staging (
    plot_id bigint NOT NULL,
    index varchar(16) NOT NULL,
    mean double precision NOT NULL,
    std double precision NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    median double precision NOT NULL,
    p10 double precision NOT NULL,
    p90 double precision NOT NULL,
    valid_weight double precision NOT NULL,
    valid_count integer NOT NULL,
    total_weight double precision NOT NULL,
    clear_fraction double precision NOT NULL,
    share_nodata double precision,
    share_defective double precision,
    share_dark_or_terrain_shadow double precision,
    share_cloud_shadow double precision,
    share_cloud double precision,
    share_cirrus double precision,
    share_snow double precision,
    share_unclassified double precision,
    share_dilated double precision,
    flagged boolean NOT NULL,
    flag_code smallint NOT NULL
) ON COMMIT DROP;
CREATE TEMPORARY TABLE scene_stats_changed (
    plot_id bigint NOT NULL,
    index varchar(16) NOT NULL,
    mean double precision,
    flagged boolean NOT NULL
) ON COMMIT DROP
