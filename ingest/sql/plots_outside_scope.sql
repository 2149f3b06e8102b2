-- Staged plots a scoped importer may not write: placed in no village or one outside the
-- scope, or replacing a stored plot (same code) whose village is outside it.
SELECT s.pos, s.code
FROM plot_staging s
LEFT JOIN plots p ON p.code = s.code
WHERE coalesce(s.village_by_location, s.village_by_attribute) IS NULL
   OR NOT (coalesce(s.village_by_location, s.village_by_attribute) = ANY(:unit_ids))
   OR (p.id IS NOT NULL AND (p.village_id IS NULL OR NOT (p.village_id = ANY(:unit_ids))))
ORDER BY s.pos
