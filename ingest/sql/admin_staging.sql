-- One row per admin unit of the file being imported; dropped with the transaction.
CREATE TEMP TABLE admin_staging (
    pos integer PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    level text NOT NULL,
    parent_code text,
    attributes jsonb NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL
) ON COMMIT DROP
