-- --retire-missing: plots absent from the file are marked retired, never deleted.
UPDATE plots p
SET retired_at = now(), updated_at = now()
WHERE p.retired_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM plot_staging s WHERE s.code = p.code)
