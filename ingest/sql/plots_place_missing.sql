-- Plots stored before their village boundaries existed: place them by location now, the
-- same rule as at plot import (the village polygon holding a point on the plot's surface).
WITH placed AS (
    SELECT p.id AS plot_id,
           (SELECT a.id FROM admin_units a
            WHERE a.level = 'village' AND ST_Intersects(a.geom, ST_PointOnSurface(p.geom))
            ORDER BY a.id LIMIT 1) AS village_id
    FROM plots p
    WHERE p.village_id IS NULL
)
UPDATE plots p
SET village_id = placed.village_id, updated_at = now()
FROM placed
WHERE p.id = placed.plot_id AND placed.village_id IS NOT NULL
