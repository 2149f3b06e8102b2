-- One scene per (source, scene_key); re-ingesting the same scene changes nothing.
INSERT INTO scenes AS s (
    source, scene_key, platform, acquired_at, orbit, clear_fraction, crs, footprint,
    radiometry, properties
)
VALUES (
    :source, :scene_key, :platform, :acquired_at, :orbit, :clear_fraction, :crs,
    ST_Multi(ST_GeomFromText(:footprint, 4326)),
    CAST(:radiometry AS jsonb), CAST(:properties AS jsonb)
)
ON CONFLICT (source, scene_key) DO UPDATE SET
    platform = EXCLUDED.platform,
    acquired_at = EXCLUDED.acquired_at,
    orbit = EXCLUDED.orbit,
    clear_fraction = EXCLUDED.clear_fraction,
    crs = EXCLUDED.crs,
    footprint = EXCLUDED.footprint,
    radiometry = EXCLUDED.radiometry,
    properties = EXCLUDED.properties
WHERE (s.platform, s.acquired_at, s.orbit, s.clear_fraction, s.crs, s.radiometry, s.properties)
    IS DISTINCT FROM (EXCLUDED.platform, EXCLUDED.acquired_at, EXCLUDED.orbit,
        EXCLUDED.clear_fraction, EXCLUDED.crs, EXCLUDED.radiometry, EXCLUDED.properties)
    OR NOT ST_OrderingEquals(s.footprint, EXCLUDED.footprint)
