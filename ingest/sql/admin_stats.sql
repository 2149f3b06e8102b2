-- Summary figures of the staged admin units: area (m², ellipsoid) and how parents were found.
SELECT
    coalesce(sum(ST_Area(s.geom::geography)), 0) AS area_m2,
    count(*) FILTER (WHERE s.parent_code IS NOT NULL) AS by_attribute,
    count(*) FILTER (WHERE s.parent_code IS NULL AND a.parent_id IS NOT NULL) AS by_location,
    count(*) FILTER (WHERE a.parent_id IS NULL AND s.level <> 'county') AS without_parent
FROM admin_staging s
JOIN admin_units a USING (code)
