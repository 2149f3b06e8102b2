-- Current plots touching a scene footprint (EPSG:4326), as WKB, in id order.
SELECT p.id, ST_AsBinary(p.geom) AS wkb
FROM plots AS p
WHERE p.retired_at IS NULL
    AND p.geom && ST_GeomFromText(:footprint, 4326)
    AND ST_Intersects(p.geom, ST_GeomFromText(:footprint, 4326))
ORDER BY p.id
