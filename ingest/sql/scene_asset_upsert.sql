-- One COG per (scene, kind); path relative to the raster store.
INSERT INTO raster_assets AS a (
    scene_id, kind, path, sha256, dtype, scale, "offset", nodata, width, height, size_bytes
)
VALUES (
    :scene_id, :kind, :path, :sha256, :dtype, :scale, :offset, :nodata, :width, :height,
    :size_bytes
)
ON CONFLICT (scene_id, kind) DO UPDATE SET
    path = EXCLUDED.path,
    sha256 = EXCLUDED.sha256,
    dtype = EXCLUDED.dtype,
    scale = EXCLUDED.scale,
    "offset" = EXCLUDED."offset",
    nodata = EXCLUDED.nodata,
    width = EXCLUDED.width,
    height = EXCLUDED.height,
    size_bytes = EXCLUDED.size_bytes
WHERE (a.path, a.sha256, a.dtype, a.scale, a."offset", a.nodata, a.width, a.height, a.size_bytes)
    IS DISTINCT FROM (EXCLUDED.path, EXCLUDED.sha256, EXCLUDED.dtype, EXCLUDED.scale,
        EXCLUDED."offset", EXCLUDED.nodata, EXCLUDED.width, EXCLUDED.height, EXCLUDED.size_bytes)
