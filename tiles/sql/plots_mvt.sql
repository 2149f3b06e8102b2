-- One Mapbox Vector Tile of current plots with index values.
-- The 4326 envelope (grown by the tile buffer) lets the planner use the GiST index on
-- plots.geom; geometries are clipped in Web Mercator. Per index the tile carries
-- `<index>` (mean, 4 decimals) and `<index>_date` (local date of the acquisition).
-- Without a scene id the values are each plot's latest clear ones (plot_latest). With it,
-- they are the observations of that scene's date and source (the one kept for the date);
-- a flagged observation gives no `<index>` but `<index>_flag` with its reason.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS search
),
chosen AS (
    SELECT c.acquired_at, c.source FROM scenes c WHERE c.id = CAST(:scene_id AS bigint)
),
features AS (
    SELECT p.id,
           p.code,
           p.name,
           v.name AS village,
           round((p.area_m2 * 15 / 10000)::numeric, 2)::float8 AS area_mu,
           vals.props,
           ST_AsMVTGeom(ST_Transform(p.geom, 3857), b.tile, :extent, :buffer, true) AS geom
    FROM plots p
    CROSS JOIN bounds b
    LEFT JOIN admin_units v ON v.id = p.village_id
    LEFT JOIN LATERAL (
        SELECT jsonb_strip_nulls(
                   jsonb_object_agg(lower(o.index), round(o.mean::numeric, 4))
                   || jsonb_object_agg(
                          lower(o.index) || '_date',
                          to_char(o.acquired_at AT TIME ZONE :timezone, 'YYYY-MM-DD'))
                   || jsonb_object_agg(lower(o.index) || '_flag', o.flag_reason)) AS props
        FROM (
            SELECT l.index, l.acquired_at, l.mean, NULL::text AS flag_reason
            FROM plot_latest l
            WHERE l.plot_id = p.id AND CAST(:scene_id AS bigint) IS NULL
            UNION ALL
            SELECT s.index, s.acquired_at,
                   CASE WHEN s.flagged THEN NULL ELSE s.mean END,
                   CASE WHEN s.flagged THEN coalesce(s.flag_reason, 'flagged') END
            FROM plot_index_stats s
            JOIN chosen c ON s.acquired_at = c.acquired_at AND s.source = c.source
            WHERE s.plot_id = p.id
        ) o
    ) vals ON true
    WHERE p.retired_at IS NULL
      AND (CAST(:units AS bigint[]) IS NULL OR p.village_id = ANY(CAST(:units AS bigint[])))
      AND p.geom && b.search
      AND ST_Intersects(p.geom, b.search)
)
SELECT ST_AsMVT(features.*, 'plots', :extent, 'geom', 'id')
FROM features
WHERE geom IS NOT NULL
