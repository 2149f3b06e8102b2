-- One Mapbox Vector Tile of current plots with their latest clear index values.
-- The 4326 envelope (grown by the tile buffer) lets the planner use the GiST index on
-- plots.geom; geometries are clipped in Web Mercator. Per index the tile carries
-- `<index>` (mean, 4 decimals) and `<index>_date` (local date of the acquisition).
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS search
),
features AS (
    SELECT p.id,
           p.code,
           p.name,
           v.name AS village,
           round((p.area_m2 * 15 / 10000)::numeric, 2)::float8 AS area_mu,
           latest.props,
           ST_AsMVTGeom(ST_Transform(p.geom, 3857), b.tile, :extent, :buffer, true) AS geom
    FROM plots p
    CROSS JOIN bounds b
    LEFT JOIN admin_units v ON v.id = p.village_id
    LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(lower(l.index), round(l.mean::numeric, 4))
               || jsonb_object_agg(
                      lower(l.index) || '_date',
                      to_char(l.acquired_at AT TIME ZONE :timezone, 'YYYY-MM-DD')) AS props
        FROM plot_latest l
        WHERE l.plot_id = p.id
    ) latest ON true
    WHERE p.retired_at IS NULL
      AND p.geom && b.search
      AND ST_Intersects(p.geom, b.search)
)
SELECT ST_AsMVT(features.*, 'plots', :extent, 'geom', 'id')
FROM features
WHERE geom IS NOT NULL
