-- Summary figures of the staged file: area on the ellipsoid (m²), villages found, and
-- plots that were retired and come back.
SELECT
    coalesce(sum(ST_Area(s.geom::geography)), 0) AS area_m2,
    count(*) FILTER (WHERE s.village_by_location IS NOT NULL) AS by_location,
    count(*) FILTER (WHERE s.village_by_location IS NULL
                     AND s.village_by_attribute IS NOT NULL) AS by_attribute,
    count(*) FILTER (WHERE s.village_by_location IS NULL
                     AND s.village_by_attribute IS NULL) AS unassigned,
    (SELECT count(*) FROM plots p JOIN plot_staging t USING (code)
     WHERE p.retired_at IS NOT NULL) AS unretired
FROM plot_staging s
