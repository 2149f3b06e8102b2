"""Database side of a scene ingest: plots under a footprint, scene, asset and statistics rows.

Query functions take the session; SQL lives in ``ingest/sql/scene_*.sql``. Statistics go
through ``COPY`` into a temporary staging table and one ``INSERT ... ON CONFLICT`` (see
:mod:`ingest.satellite.ingest` for the rule between two observations with one key).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import shapely
from sqlalchemy.orm import Session

from ingest._db import run_sql
from ingest.satellite._grid import Grid
from ingest.satellite._inputs import SceneFiles
from ingest.satellite.cog import CogInfo

__all__ = ["plots_touching", "upsert_asset", "upsert_scene"]

_STATS_COLUMNS: Final = (
    "plot_id index acquired_at source scene_id mean std min max median p10 p90 valid_weight "
    "valid_count total_weight clear_fraction masked_shares flagged flag_reason"
).split()


def plots_touching(session: Session, footprint: shapely.Geometry) -> gpd.GeoDataFrame:
    """Current (not retired) plots intersecting ``footprint`` (EPSG:4326), by id."""
    rows = run_sql(session=session, name="scene_plots", params={"footprint": footprint.wkt})
    geoms = [shapely.from_wkb(bytes(r.wkb)) for r in rows]
    return gpd.GeoDataFrame({"id": [r.id for r in rows]}, geometry=geoms, crs=4326)


def upsert_scene(
    session: Session,
    scene: SceneFiles,
    source: str,
    grid: Grid,
    footprint: shapely.Geometry,
    clear: float | None,
    record: dict[str, Any],
) -> int:
    """Upsert the ``scenes`` row on (source, scene_key); its id.

    Platform, orbit, tile and cloud cover are those :class:`SceneFiles` carries (file names,
    ``--orbit`` or a remote source's manifest); unknown ones are stored as NULL.
    """
    key = {"source": source, "scene_key": scene.scene_key}
    properties = {"files": sorted(p.name for p in _scene_paths(scene))}
    params = {
        **key,
        "platform": scene.platform,
        "acquired_at": scene.acquired_at,
        "tile_id": scene.tile_id,
        "orbit": scene.orbit,
        "cloud_cover": scene.cloud_cover_pct,
        "clear_fraction": clear,
        "crs": grid.crs.to_string(),
        "footprint": footprint.wkt,
        "radiometry": json.dumps(record, sort_keys=True),
        "properties": json.dumps(properties, sort_keys=True),
    }
    run_sql(session=session, name="scene_upsert", params=params)
    return int(run_sql(session=session, name="scene_id", params=key)[0].id)


def _scene_paths(scene: SceneFiles) -> list[Path]:
    paths = [scene.scl, *scene.band_files.values()]
    return paths + ([scene.boa] if scene.boa else [])


def upsert_asset(session: Session, scene_id: int, kind: str, info: CogInfo, store: Path) -> None:
    """Upsert the ``raster_assets`` row of one COG (path relative to ``store``)."""
    params = {
        "scene_id": scene_id,
        "kind": kind,
        "path": info.path.relative_to(store).as_posix(),
        "sha256": info.sha256,
        "dtype": info.dtype,
        "scale": info.scale,
        "offset": info.offset,
        "nodata": info.nodata,
        "width": info.width,
        "height": info.height,
        "size_bytes": info.size_bytes,
    }
    run_sql(session=session, name="scene_asset_upsert", params=params)
