-- Parent codes found neither in the database nor in the file.
SELECT s.pos, s.code, s.parent_code
FROM admin_staging s
WHERE s.parent_code IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM admin_units u WHERE u.code = s.parent_code)
  AND NOT EXISTS (SELECT 1 FROM admin_staging t WHERE t.code = s.parent_code)
ORDER BY s.pos
