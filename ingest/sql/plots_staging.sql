-- One row per feature of the file being imported; dropped with the transaction.
CREATE TEMP TABLE plot_staging (
    pos integer PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text,
    owner text,
    cooperative text,
    village text,
    crop text,
    variety text,
    planting_year smallint,
    attributes jsonb NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL,
    village_by_location bigint,
    village_by_attribute bigint
) ON COMMIT DROP
