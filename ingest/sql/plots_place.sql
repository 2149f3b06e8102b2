-- Villages: the village polygon holding a point on the plot's surface; failing that, the
-- village whose code equals the plot's village text, or the only village of that name.
UPDATE plot_staging s
SET village_by_location = (
        SELECT a.id FROM admin_units a
        WHERE a.level = 'village' AND ST_Intersects(a.geom, ST_PointOnSurface(s.geom))
        ORDER BY a.id LIMIT 1
    ),
    village_by_attribute = CASE WHEN s.village IS NULL THEN NULL ELSE coalesce(
        (SELECT a.id FROM admin_units a WHERE a.level = 'village' AND a.code = s.village),
        (SELECT CASE WHEN count(*) = 1 THEN min(a.id) END FROM admin_units a
         WHERE a.level = 'village' AND a.name = s.village)
    ) END
