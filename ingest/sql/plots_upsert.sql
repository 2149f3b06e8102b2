-- Insert new codes; update a row only when something differs, so a re-run changes nothing
-- (not even updated_at). Area on the WGS 84 ellipsoid, m².
INSERT INTO plots AS p (
    code, name, owner, cooperative, village_id, village_name, crop, variety, planting_year,
    attributes, geom, area_m2, source, retired_at
)
SELECT s.code, s.name, s.owner, s.cooperative,
       coalesce(s.village_by_location, s.village_by_attribute), s.village, s.crop, s.variety,
       s.planting_year, s.attributes, s.geom, ST_Area(s.geom::geography), :source, NULL
FROM plot_staging s
ORDER BY s.pos
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name,
    owner = EXCLUDED.owner,
    cooperative = EXCLUDED.cooperative,
    village_id = EXCLUDED.village_id,
    village_name = EXCLUDED.village_name,
    crop = EXCLUDED.crop,
    variety = EXCLUDED.variety,
    planting_year = EXCLUDED.planting_year,
    attributes = EXCLUDED.attributes,
    geom = EXCLUDED.geom,
    area_m2 = EXCLUDED.area_m2,
    source = EXCLUDED.source,
    retired_at = NULL,
    updated_at = now()
WHERE (p.name, p.owner, p.cooperative, p.village_id, p.village_name, p.crop, p.variety,
       p.planting_year, p.attributes, ST_AsEWKB(p.geom), p.area_m2, p.source, p.retired_at)
    IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.owner, EXCLUDED.cooperative, EXCLUDED.village_id,
       EXCLUDED.village_name, EXCLUDED.crop, EXCLUDED.variety, EXCLUDED.planting_year,
       EXCLUDED.attributes, ST_AsEWKB(EXCLUDED.geom), EXCLUDED.area_m2, EXCLUDED.source,
       NULL::timestamptz)
RETURNING (xmax = 0) AS inserted
