-- Units of one level: parent by the parent-code field when given, else the unit of the
-- nearest level above whose polygon holds a point on this unit's surface. Rows change only
-- when something differs. Area on the WGS 84 ellipsoid, m².
INSERT INTO admin_units AS a (code, name, level, parent_id, attributes, geom, area_m2)
SELECT s.code, s.name, s.level,
       CASE WHEN s.parent_code IS NOT NULL
            THEN (SELECT u.id FROM admin_units u WHERE u.code = s.parent_code)
            ELSE (SELECT u.id FROM admin_units u
                  WHERE u.level = ANY(CAST(:parent_levels AS text[]))
                    AND ST_Intersects(u.geom, ST_PointOnSurface(s.geom))
                  ORDER BY array_position(CAST(:parent_levels AS text[]), u.level::text), u.id
                  LIMIT 1)
       END,
       s.attributes, s.geom, ST_Area(s.geom::geography)
FROM admin_staging s
WHERE s.level = :level
ORDER BY s.pos
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name,
    level = EXCLUDED.level,
    parent_id = EXCLUDED.parent_id,
    attributes = EXCLUDED.attributes,
    geom = EXCLUDED.geom,
    area_m2 = EXCLUDED.area_m2,
    updated_at = now()
WHERE (a.name, a.level, a.parent_id, a.attributes, ST_AsEWKB(a.geom), a.area_m2)
    IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_id, EXCLUDED.attributes,
       ST_AsEWKB(EXCLUDED.geom), EXCLUDED.area_m2)
RETURNING (xmax = 0) AS inserted
