-- One scene per (source, scene_key); re-ingesting the same scene changes nothing.
INSERT INTO scenes AS s (
    source, scene_key, platform, acquired_at, tile_id, orbit, cloud_cover, clear_fraction, crs,
    footprint, radiometry, properties
)
VALUES (
    :source, :scene_key, :platform, :acquired_at, :tile_id, :orbit, :cloud_cover,
    :clear_fraction, :crs, ST_Multi(ST_GeomFromText(:footprint, 4326)),
    CAST(:radiometry AS jsonb), CAST(:properties AS jsonb)
)
ON CONFLICT (source, scene_key) DO UPDATE SET
    platform = EXCLUDED.platform,
    acquired_at = EXCLUDED.acquired_at,
    tile_id = EXCLUDED.tile_id,
    orbit = EXCLUDED.orbit,
    cloud_cover = EXCLUDED.cloud_cover,
    clear_fraction = EXCLUDED.clear_fraction,
    crs = EXCLUDED.crs,
    footprint = EXCLUDED.footprint,
    radiometry = EXCLUDED.radiometry,
    properties = EXCLUDED.properties
WHERE (s.platform, s.acquired_at, s.tile_id, s.orbit, s.cloud_cover, s.clear_fraction, s.crs,
        s.radiometry, s.properties)
    IS DISTINCT FROM (EXCLUDED.platform, EXCLUDED.acquired_at, EXCLUDED.tile_id,
        EXCLUDED.orbit, EXCLUDED.cloud_cover, EXCLUDED.clear_fraction, EXCLUDED.crs,
        EXCLUDED.radiometry, EXCLUDED.properties)
    OR NOT ST_OrderingEquals(s.footprint, EXCLUDED.footprint)
